"""Tools the model can call: `@tool` function tools (schema, validation, invocation) and MCP servers."""

from __future__ import annotations

from agentkit.tools.function import (
    ApprovalPredicate,
    FunctionTool,
    NeedsApproval,
    as_tool,
    tool,
    unknown_tool_output,
)
from agentkit.tools.mcp import MCPConnectionError, MCPServer, MCPServerHTTP, MCPServerStdio
from agentkit.tools.schema import StrictSchemaWarning

__all__ = [
    "ApprovalPredicate",
    "FunctionTool",
    "MCPConnectionError",
    "MCPServer",
    "MCPServerHTTP",
    "MCPServerStdio",
    "NeedsApproval",
    "StrictSchemaWarning",
    "as_tool",
    "tool",
    "unknown_tool_output",
]
