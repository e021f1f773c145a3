"""Client-side MCP servers whose tools the agent offers to the model as function tools.

`Agent(tools=[MCPServerStdio(...), MCPServerHTTP(...)])` connects with the `mcp` package
(imported only when a server connects), lists each server's tools, and routes the model's
calls back to the right session.
"""

from __future__ import annotations

from agentkit.tools.mcp.connection import MCPServers
from agentkit.tools.mcp.servers import MCPConnectionError, MCPServer, MCPServerHTTP, MCPServerStdio
from agentkit.tools.mcp.tools import MCPTool

__all__ = [
    "MCPConnectionError",
    "MCPServer",
    "MCPServerHTTP",
    "MCPServerStdio",
    "MCPServers",
    "MCPTool",
]
