"""agentkit: agents on the Azure OpenAI / OpenAI Responses API."""

from __future__ import annotations

import logging as _logging

from agentkit.agent import Agent
from agentkit.context import RunContext
from agentkit.errors import (
    AgentkitError,
    ConfigurationError,
    ContainerExpired,
    MaxTurnsExceeded,
    ModelCallError,
    OutputValidationError,
    ResumeError,
    RunError,
    RunPaused,
    ToolDefinitionError,
    ToolError,
    UserError,
)
from agentkit.inputs import UploadedFile, image, pdf, upload, user_message
from agentkit.model import RetryPolicy, Usage, azure_v1_base_url, entra_token_provider
from agentkit.run import (
    ApprovalDecided,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalRequested,
    ChainRecoveryWarning,
    ContainerFile,
    Conversation,
    Decision,
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
    approve,
    reject,
)
from agentkit.run.images import GeneratedImage
from agentkit.tools import (
    CodeInterpreter,
    FunctionTool,
    ImageGeneration,
    MCPConnectionError,
    MCPServer,
    MCPServerHTTP,
    MCPServerStdio,
    RemoteMCP,
    StrictSchemaWarning,
    tool,
)

__all__ = [
    "Agent",
    "AgentkitError",
    "ApprovalDecided",
    "ApprovalPolicy",
    "ApprovalRequest",
    "ApprovalRequested",
    "ChainRecoveryWarning",
    "CodeInterpreter",
    "ConfigurationError",
    "ContainerExpired",
    "ContainerFile",
    "Conversation",
    "Decision",
    "FinalResult",
    "FunctionTool",
    "GeneratedImage",
    "ImageGeneration",
    "MCPConnectionError",
    "MCPServer",
    "MCPServerHTTP",
    "MCPServerStdio",
    "MaxTurnsExceeded",
    "ModelCallError",
    "ModelSettings",
    "OutputValidationError",
    "ReasoningSummaryDelta",
    "RemoteMCP",
    "ResponseCompleted",
    "ResumeError",
    "RetryPolicy",
    "RunContext",
    "RunError",
    "RunEvent",
    "RunPaused",
    "RunResult",
    "RunState",
    "StrictSchemaWarning",
    "TextDelta",
    "ToolCallStarted",
    "ToolDefinitionError",
    "ToolError",
    "ToolResult",
    "UploadedFile",
    "Usage",
    "UserError",
    "approve",
    "azure_v1_base_url",
    "entra_token_provider",
    "image",
    "pdf",
    "reject",
    "tool",
    "upload",
    "user_message",
]

__version__ = "0.1.0"

# A library logs; the application decides where it goes.
_logging.getLogger("agentkit").addHandler(_logging.NullHandler())
