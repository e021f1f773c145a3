"""The local Responses API server: a faithful, stateful implementation of the wire protocol."""

from __future__ import annotations

from agentkit.server.engines import AutoEngine, Engine, ScriptedEngine
from agentkit.server.http.app import ServerConfig, create_app
from agentkit.server.http.runner import LocalServer

__all__ = ["AutoEngine", "Engine", "LocalServer", "ScriptedEngine", "ServerConfig", "create_app"]
