"""The local Responses API server: a faithful, stateful implementation of the wire protocol."""

from __future__ import annotations

from agentkit.server.engines import AutoEngine, Engine, ScriptedEngine
from agentkit.server.http.app import ServerConfig, create_app
from agentkit.server.http.runner import LocalServer
from agentkit.server.state.lock import DatabaseInUse

__all__ = [
    "AutoEngine",
    "DatabaseInUse",
    "Engine",
    "LocalServer",
    "ScriptedEngine",
    "ServerConfig",
    "create_app",
]
