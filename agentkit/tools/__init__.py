"""Tools the model can call: `@tool` function tools (schema, validation, invocation)."""

from __future__ import annotations

from agentkit.tools.function import (
    ApprovalPredicate,
    FunctionTool,
    NeedsApproval,
    as_tool,
    tool,
    unknown_tool_output,
)
from agentkit.tools.schema import StrictSchemaWarning

__all__ = [
    "ApprovalPredicate",
    "FunctionTool",
    "NeedsApproval",
    "StrictSchemaWarning",
    "as_tool",
    "tool",
    "unknown_tool_output",
]
