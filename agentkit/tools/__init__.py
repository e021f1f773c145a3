"""Tools the model can call: `@tool` function tools, hosted tools (`RemoteMCP`), and MCP servers."""

from __future__ import annotations

from agentkit.tools.function import (
    ApprovalPredicate,
    FunctionTool,
    NeedsApproval,
    as_tool,
    tool,
    unknown_tool_output,
)
from agentkit.tools.hosted import CodeInterpreter, HostedTool, ImageGeneration, RemoteMCP
from agentkit.tools.mcp import MCPConnectionError, MCPServer, MCPServerHTTP, MCPServerStdio
from agentkit.tools.schema import StrictSchemaWarning

__all__ = [
    "ApprovalPredicate",
    "CodeInterpreter",
    "FunctionTool",
    "HostedTool",
    "ImageGeneration",
    "MCPConnectionError",
    "MCPServer",
    "MCPServerHTTP",
    "MCPServerStdio",
    "NeedsApproval",
    "RemoteMCP",
    "StrictSchemaWarning",
    "as_tool",
    "tool",
    "unknown_tool_output",
]
