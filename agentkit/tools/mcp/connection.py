"""Live MCP sessions: each owned by one task, so anyio's cancel scopes open and close together.

`stdio_client` and `streamablehttp_client` enter anyio cancel scopes that must be exited by the
task that entered them. A run's generator can be finalized in another task (an abandoned
stream), and `async with agent:` may exit in another task than it entered, so neither may own
a session. Each server gets a dedicated task that opens the transport and session, lists the
tools, then waits for its stop event and unwinds everything itself. Tool calls from other tasks
only send requests through the session, which is safe from any task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection, Sequence
from typing import TYPE_CHECKING, Any

from agentkit.errors import ConfigurationError
from agentkit.tools.function import FunctionTool
from agentkit.tools.mcp.names import assign_names
from agentkit.tools.mcp.servers import MCPConnectionError, MCPServer, describe
from agentkit.tools.mcp.tools import make_tool, tool_parameters

if TYPE_CHECKING:
    from mcp import ClientSession
    from mcp.types import CallToolResult, Tool

log = logging.getLogger("agentkit.mcp")

MAX_LIST_PAGES = 100
CLOSE_GRACE = 10.0
"""Seconds a cancelled caller still waits for a server to shut down (stdio: ~2 s, then killed)."""


class Connection:
    """One server's session, opened and closed by a task of its own."""

    def __init__(self, server: MCPServer) -> None:
        self.server = server
        self.tools: list[Tool] = []
        self._session: ClientSession | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Start the server's task and wait until its tools are listed; raise if that fails."""
        ready = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._own(ready), name=f"agentkit-mcp-{self.server.name}")
        try:
            async with asyncio.timeout(self.server.connect_timeout):
                await asyncio.shield(ready)
        except TimeoutError:
            await self.close()
            raise MCPConnectionError(
                f"MCP server {self.server.name!r} did not connect and list its tools within "
                f"{self.server.connect_timeout} s"
            ) from None
        except asyncio.CancelledError:
            await self.close()
            raise
        except Exception as exc:
            await self.close()
            reason = self.server.scrub(describe(exc))
            raise MCPConnectionError(
                f"Could not connect to MCP server {self.server.name!r}: {reason}"
            ) from None  # the cause may carry secrets (e.g. the request's headers)

    async def call(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        """Send `tools/call`; raises when the session is gone or the request fails."""
        session = self._session
        if session is None:
            raise MCPConnectionError(f"the MCP server {self.server.name!r} is not connected")
        return await session.call_tool(name, arguments)

    async def close(self) -> None:
        """Stop the server's task and wait for it to unwind (bounded when we are cancelled)."""
        task = self._task
        if task is None:
            return
        self._stop.set()
        if self._session is None:
            task.cancel()  # still connecting: there is nothing to shut down gracefully
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            await asyncio.wait({task}, timeout=CLOSE_GRACE)
            raise

    async def _own(self, ready: asyncio.Future[None]) -> None:
        """The task that owns the transport and session from start to end."""
        try:
            async with contextlib.AsyncExitStack() as stack:
                session = await self.server.open_session(stack)
                self.tools = await _list_tools(session)
                self._session = session
                log.debug("MCP server %r: connected, %d tools", self.server.name, len(self.tools))
                ready.set_result(None)
                await self._stop.wait()
        except Exception as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:
                log.warning(
                    "MCP server %r: the session ended with %s",
                    self.server.name,
                    self.server.scrub(describe(exc)),
                )
        except BaseException:
            if not ready.done():
                ready.cancel()
            raise
        finally:
            self._session = None


async def _list_tools(session: ClientSession) -> list[Tool]:
    """Every tool the server lists, following pagination (bounded)."""
    from mcp.types import PaginatedRequestParams

    result = await session.list_tools()
    tools = list(result.tools)
    for _ in range(MAX_LIST_PAGES):
        if not result.next_cursor:
            break
        result = await session.list_tools(params=PaginatedRequestParams(cursor=result.next_cursor))
        tools.extend(result.tools)
    return tools


class Toolset:
    """Connected servers and the function tools they offer."""

    def __init__(self, connections: list[Connection], tools: dict[str, FunctionTool]) -> None:
        self.connections = connections
        self.tools = tools

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.connections))


async def connect(servers: Sequence[MCPServer], reserved: Collection[str] = ()) -> Toolset:
    """Connect to every server at once and build their tools; all or nothing."""
    connections = [Connection(server) for server in servers]
    results = await asyncio.gather(*(c.open() for c in connections), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        await asyncio.gather(*(c.close() for c in connections))
        raise failures[0]
    return Toolset(connections, _build_tools(connections, reserved))


def _build_tools(
    connections: list[Connection], reserved: Collection[str]
) -> dict[str, FunctionTool]:
    """Function tools for the servers' usable tools, named without clashes."""
    usable: list[list[tuple[Tool, Any]]] = []
    for connection in connections:
        server = connection.server
        allowed = server.allowed_tools
        usable.append(
            [
                (tool, parameters)
                for tool in connection.tools
                if allowed is None or tool.name in allowed
                if (parameters := tool_parameters(tool.input_schema, _where(server, tool)))
            ]
        )
    names = assign_names(
        [
            (c.server.name, [t.name for t, _ in tools])
            for c, tools in zip(connections, usable, strict=True)
        ],
        reserved,
    )
    built: dict[str, FunctionTool] = {}
    for connection, tools, mapping in zip(connections, usable, names, strict=True):
        by_mcp_name = {tool.name: (tool, parameters) for tool, parameters in tools}
        server = connection.server
        for name, mcp_name in mapping.items():
            tool, parameters = by_mcp_name[mcp_name]
            built[name] = make_tool(
                tool,
                name=name,
                server=server.name,
                parameters=parameters,
                call=connection.call,
                timeout=server.timeout,
                scrub=server.scrub,
                approval=server.needs_approval,
            )
    return built


def _where(server: MCPServer, tool: Tool) -> str:
    return f"server {server.name!r}, tool {tool.name!r}"


class MCPServers:
    """An agent's MCP servers: connected for an `async with agent:` block, else for each run."""

    def __init__(self, servers: Sequence[MCPServer], reserved: Collection[str] = ()) -> None:
        names = [server.name for server in servers]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigurationError(
                f"two MCP servers are named {duplicates[0]!r}; give one of them name=..."
            )
        self.servers = tuple(servers)
        self._reserved = frozenset(reserved)
        self._open: Toolset | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._depth = 0

    async def connect(self) -> None:
        """Connect for a block of runs (nested blocks share the connection)."""
        if self._depth == 0 and self.servers:
            self._open = await connect(self.servers, self._reserved)
            self._loop = asyncio.get_running_loop()
        self._depth += 1

    async def close(self) -> None:
        """End a block of runs; the last one closes the connection."""
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth == 0 and self._open is not None:
            toolset, self._open, self._loop = self._open, None, None
            await toolset.close()

    @contextlib.asynccontextmanager
    async def tools(self) -> AsyncIterator[dict[str, FunctionTool]]:
        """The servers' tools for one run: the block's connection, or one just for this run."""
        if not self.servers:
            yield {}
            return
        if self._open is not None and self._loop is asyncio.get_running_loop():
            yield self._open.tools
            return
        toolset = await connect(self.servers, self._reserved)
        try:
            yield toolset.tools
        finally:
            await toolset.close()
