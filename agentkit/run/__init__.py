"""The agent loop as small named steps over an explicit, JSON-serializable RunState."""

from __future__ import annotations

from agentkit.run.conversation import Conversation
from agentkit.run.events import (
    FinalResult,
    ReasoningSummaryDelta,
    ResponseCompleted,
    RunEvent,
    TextDelta,
    ToolCallStarted,
    ToolResult,
)
from agentkit.run.loop import ChainRecoveryWarning
from agentkit.run.result import RunResult
from agentkit.run.settings import ModelSettings
from agentkit.run.state import RunState

__all__ = [
    "ChainRecoveryWarning",
    "Conversation",
    "FinalResult",
    "ModelSettings",
    "ReasoningSummaryDelta",
    "ResponseCompleted",
    "RunEvent",
    "RunResult",
    "RunState",
    "TextDelta",
    "ToolCallStarted",
    "ToolResult",
]
