"""Engines decide what "the model" outputs."""

from __future__ import annotations

from agentkit.server.engines.auto import AutoEngine
from agentkit.server.engines.base import Engine
from agentkit.server.engines.scripted import ScriptedEngine
from agentkit.server.plan import (
    Abort,
    Call,
    Drop,
    Fail,
    Hold,
    Hosted,
    Malformed,
    Pace,
    Planned,
    Raw,
    Say,
    Stall,
    Think,
    Turn,
    Wait,
)

__all__ = [
    "Abort",
    "AutoEngine",
    "Call",
    "Drop",
    "Engine",
    "Fail",
    "Hold",
    "Hosted",
    "Malformed",
    "Pace",
    "Planned",
    "Raw",
    "Say",
    "ScriptedEngine",
    "Stall",
    "Think",
    "Turn",
    "Wait",
]
