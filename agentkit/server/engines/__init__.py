"""Engines decide what "the model" outputs."""

from __future__ import annotations

from agentkit.server.engines.auto import AutoEngine
from agentkit.server.engines.base import (
    Call,
    Engine,
    Fail,
    Hosted,
    Planned,
    Raw,
    Say,
    Think,
    Turn,
)
from agentkit.server.engines.scripted import ScriptedEngine

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
