"""agentkit: agents on the Azure OpenAI / OpenAI Responses API."""

from __future__ import annotations

from agentkit.agent import Agent
from agentkit.context import RunContext
from agentkit.errors import (
    AgentkitError,
    ConfigurationError,
    MaxTurnsExceeded,
    ModelCallError,
    OutputValidationError,
    RunError,
    ToolDefinitionError,
    ToolError,
    UserError,
)
from agentkit.model import RetryPolicy, Usage
from agentkit.run import (
    ChainRecoveryWarning,
    Conversation,
    FinalResult,
    ModelSettings,
    ReasoningSummaryDelta,
    ResponseCompleted,
    RunEvent,
    RunResult,
    RunState,
    TextDelta,
    ToolCallStarted,
    ToolResult,
)
from agentkit.tools import FunctionTool, StrictSchemaWarning, tool

__all__ = [
    "Agent",
    "AgentkitError",
    "ChainRecoveryWarning",
    "ConfigurationError",
    "Conversation",
    "FinalResult",
    "FunctionTool",
    "MaxTurnsExceeded",
    "ModelCallError",
    "ModelSettings",
    "OutputValidationError",
    "ReasoningSummaryDelta",
    "ResponseCompleted",
    "RetryPolicy",
    "RunContext",
    "RunError",
    "RunEvent",
    "RunResult",
    "RunState",
    "StrictSchemaWarning",
    "TextDelta",
    "ToolCallStarted",
    "ToolDefinitionError",
    "ToolError",
    "ToolResult",
    "Usage",
    "UserError",
    "tool",
]

__version__ = "0.1.0"
