"""The agent loop as small named steps over an explicit, JSON-serializable RunState; approvals."""

from __future__ import annotations

from agentkit.run.approvals import (
    ApprovalKind,
    ApprovalPolicy,
    ApprovalRequest,
    Decision,
    approve,
    reject,
)
from agentkit.run.calls import ToolCall
from agentkit.run.conversation import Conversation
from agentkit.run.events import (
    ApprovalDecided,
    ApprovalRequested,
    BackgroundStatus,
    FinalResult,
    HandedOff,
    HostedToolProgress,
    PartialImage,
    ReasoningSummaryDelta,
    ResponseCompleted,
    RunEvent,
    TextDelta,
    ToolCallStarted,
    ToolResult,
)
from agentkit.run.files import ContainerFile
from agentkit.run.handle import RunHandle
from agentkit.run.model_call import ChainRecoveryWarning
from agentkit.run.result import RunResult
from agentkit.run.settings import ModelSettings
from agentkit.run.state import RunState

__all__ = [
    "ApprovalDecided",
    "ApprovalKind",
    "ApprovalPolicy",
    "ApprovalRequest",
    "ApprovalRequested",
    "BackgroundStatus",
    "ChainRecoveryWarning",
    "ContainerFile",
    "Conversation",
    "Decision",
    "FinalResult",
    "HandedOff",
    "HostedToolProgress",
    "ModelSettings",
    "PartialImage",
    "ReasoningSummaryDelta",
    "ResponseCompleted",
    "RunEvent",
    "RunHandle",
    "RunResult",
    "RunState",
    "TextDelta",
    "ToolCall",
    "ToolCallStarted",
    "ToolResult",
    "approve",
    "reject",
]
