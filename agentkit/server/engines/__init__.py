"""Engines decide what "the model" outputs."""

from __future__ import annotations

from agentkit.server.engines.auto import AutoEngine
from agentkit.server.engines.base import Engine
from agentkit.server.engines.scripted import ScriptedEngine
from agentkit.server.plan import (
    Call,
    Fail,
    Hosted,
    Planned,
    Raw,
    Say,
    Think,
    Turn,
)

__all__ = [
    "AutoEngine",
    "Call",
    "Engine",
    "Fail",
    "Hosted",
    "Planned",
    "Raw",
    "Say",
    "ScriptedEngine",
    "Think",
    "Turn",
]
