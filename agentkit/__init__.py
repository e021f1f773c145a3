"""agentkit: agents on the Azure OpenAI / OpenAI Responses API."""

from __future__ import annotations

import logging as _logging

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
from agentkit.model import RetryPolicy, Usage, azure_v1_base_url, entra_token_provider
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
from agentkit.tools import (
    FunctionTool,
    MCPConnectionError,
    MCPServer,
    MCPServerHTTP,
    MCPServerStdio,
    StrictSchemaWarning,
    tool,
)

__all__ = [
    "Agent",
    "AgentkitError",
    "ChainRecoveryWarning",
    "ConfigurationError",
    "Conversation",
    "FinalResult",
    "FunctionTool",
    "MCPConnectionError",
    "MCPServer",
    "MCPServerHTTP",
    "MCPServerStdio",
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
    "azure_v1_base_url",
    "entra_token_provider",
    "tool",
]

__version__ = "0.1.0"

# A library logs; the application decides where it goes.
_logging.getLogger("agentkit").addHandler(_logging.NullHandler())
