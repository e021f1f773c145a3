"""Client-side MCP tools in a workflow: listed by an activity, called by the tool activity.

The servers, their sessions and their credentials stay in the workers. A run lists the tools
once, through an activity whose result (names, schemas, approval settings: no headers, no
environment) goes into the workflow's history; the workflow offers the model stand-ins
built from that list, whose calls run in the tool activity like any function tool's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentkit.errors import UserError
from agentkit.tools import FunctionTool
from agentkit.tools.mcp import MCPTool
from agentkit.tools.mcp.tools import _SERVER_VALIDATES

Described = dict[str, Any]


def described(tools: Mapping[str, FunctionTool]) -> list[Described]:
    """What the workflow needs to know of each MCP tool (in the worker)."""
    return [
        {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
            "strict": tool.strict,
            "timeout": tool.timeout,
            "server": tool.server,
            "mcp_name": tool.mcp_name,
            "read_only": tool.read_only,
            "needs_approval": bool(tool.needs_approval),
        }
        for tool in tools.values()
        if isinstance(tool, MCPTool)
    ]


def stand_ins(tools: list[Described]) -> dict[str, FunctionTool]:
    """The tools the workflow offers for the described ones (their calls go to an activity)."""
    return {
        d["name"]: MCPTool(**d, _function=_not_here, _arguments=_SERVER_VALIDATES) for d in tools
    }


async def _not_here(name: str, arguments: dict[str, Any]) -> Any:
    raise UserError(f"The MCP tool {name!r} runs in the tool activity, not in the workflow.")
