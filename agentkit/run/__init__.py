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
from agentkit.run.steps import AgentRun, End, ModelResponse, RunNode, ToolsRan

__all__ = [
    "AgentRun",
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
    "End",
    "FinalResult",
    "HandedOff",
    "HostedToolProgress",
    "ModelResponse",
    "ModelSettings",
    "PartialImage",
    "ReasoningSummaryDelta",
    "ResponseCompleted",
    "RunEvent",
    "RunHandle",
    "RunNode",
    "RunResult",
    "RunState",
    "TextDelta",
    "ToolCall",
    "ToolCallStarted",
    "ToolResult",
    "ToolsRan",
    "approve",
    "reject",
]
