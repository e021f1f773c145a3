"""Added cost per MCP tool call through agentkit, against the bare `mcp` client in the same run.

Two servers: `mcp-server-time` over stdio (a child process) and a small `MCPServer` (the
former FastMCP) over streamable HTTP on 127.0.0.1 (a child process too, so that only the
client's CPU is measured). For each, a bare `ClientSession` and agentkit's connection are open
at the same time, to the same server, and make N calls each, interleaved in rounds:

- bare: `await session.call_tool(name, arguments)`;
- agentkit: `await tool.invoke(ctx, arguments_json)` on a connected `MCPTool`, the per-call
  path the agent loop takes (decode the model's JSON, timeout, call, result to text).

Measured per call: wall time (median and mean) and the client process's CPU time. Also the
one-off connect (start, initialize, list tools; agentkit also builds the tools' schemas) and
close, and agentkit's own work per call with the server replaced by a canned result.

Run it: `.venv/bin/python bench/mcp_calls.py` (about a minute; --calls, --rounds)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from agentkit import MCPServerHTTP, MCPServerStdio, RunContext
from agentkit.tools.mcp import MCPServer, MCPTool
from agentkit.tools.mcp.connection import Toolset, connect

if TYPE_CHECKING:
    from mcp import ClientSession
    from mcp.types import CallToolResult

GOAL = 1.2
CTX: RunContext[None] = RunContext(None)
TIME_ARGUMENTS = {"timezone": "Europe/Paris"}
ECHO_ARGUMENTS = {"text": "hello from the benchmark"}

Call = Callable[[], Awaitable[object]]


@dataclasses.dataclass
class Target:
    """A server to measure: how agentkit reaches it, how the bare client does, and one call."""

    label: str
    server: MCPServer
    open_bare: Callable[[contextlib.AsyncExitStack], Awaitable[ClientSession]]
    tool: str
    arguments: dict[str, Any]


@dataclasses.dataclass
class Timing:
    """Per-call wall times (s), and the CPU time (s) per call of each round's block of calls."""

    walls: list[float] = dataclasses.field(default_factory=list)
    cpus: list[float] = dataclasses.field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.walls) * 1e3

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.walls) * 1e3

    @property
    def cpu_ms(self) -> float:
        return statistics.median(self.cpus) * 1e3


# --- the servers -------------------------------------------------------------------------------


def serve_http(port: int) -> None:
    """The HTTP MCP server (run in a child process by `http_server`)."""
    import uvicorn
    from mcp.server.mcpserver import MCPServer as App

    app: App = App("bench", log_level="WARNING")

    @app.tool(description="Echo the text back.")
    def echo(text: str) -> str:
        return text

    uvicorn.run(
        app.streamable_http_app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


@contextlib.contextmanager
def http_server() -> Iterator[str]:
    """Start the HTTP MCP server in a child process; its URL once it accepts connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    child = subprocess.Popen([sys.executable, __file__, "--serve-http", str(port)])
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError("the HTTP MCP server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        child.terminate()
        child.wait(10)


async def bare_stdio(stack: contextlib.AsyncExitStack) -> ClientSession:
    from mcp import ClientSession, StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server_time"])
    read, write = await stack.enter_async_context(stdio_client(params))
    return await initialized(stack, ClientSession(read, write))


def bare_http(url: str) -> Callable[[contextlib.AsyncExitStack], Awaitable[ClientSession]]:
    async def open_bare(stack: contextlib.AsyncExitStack) -> ClientSession:
        from mcp import ClientSession
        from mcp.client.streamable_http import streamable_http_client

        read, write = await stack.enter_async_context(streamable_http_client(url))
        return await initialized(stack, ClientSession(read, write))

    return open_bare


async def initialized(stack: contextlib.AsyncExitStack, session: ClientSession) -> ClientSession:
    """Initialize the session and list its tools, as any client does before calling one."""
    await stack.enter_async_context(session)
    await session.initialize()
    await session.list_tools()
    return session


# --- measuring ---------------------------------------------------------------------------------


async def timed(call: Call, count: int, into: Timing) -> None:
    """Make `count` calls one after the other, adding their wall and CPU times to `into`."""
    cpu = time.process_time()
    for _ in range(count):
        start = time.perf_counter()
        await call()
        into.walls.append(time.perf_counter() - start)
    into.cpus.append((time.process_time() - cpu) / count)


async def per_call(bare: Call, agentkit: Call, *, calls: int, rounds: int) -> tuple[Timing, Timing]:
    """`calls` of each, in interleaved rounds (alternating which goes first), after a warm-up."""
    for _ in range(10):
        await bare()
        await agentkit()
    timings = (Timing(), Timing())
    per_round = calls // rounds
    for index in range(rounds):
        order = [(bare, timings[0]), (agentkit, timings[1])]
        for call, into in order if index % 2 == 0 else reversed(order):
            await timed(call, per_round, into)
    return timings


@contextlib.asynccontextmanager
async def bare_session(target: Target) -> AsyncIterator[ClientSession]:
    async with contextlib.AsyncExitStack() as stack:
        yield await target.open_bare(stack)


@contextlib.asynccontextmanager
async def agentkit_tools(target: Target) -> AsyncIterator[Toolset]:
    toolset = await connect([target.server])
    try:
        yield toolset
    finally:
        await toolset.close()


async def connect_costs(target: Target, times: int = 3) -> dict[str, float]:
    """Median seconds to connect (ready to call) and to close, bare and through agentkit."""
    found: dict[str, list[float]] = {}
    for _ in range(times):
        for label, opened in (("bare", bare_session), ("agentkit", agentkit_tools)):
            start = time.perf_counter()
            async with contextlib.AsyncExitStack() as stack:
                await stack.enter_async_context(opened(target))
                ready = time.perf_counter()
            found.setdefault(f"{label} connect", []).append(ready - start)
            found.setdefault(f"{label} close", []).append(time.perf_counter() - ready)
    return {name: statistics.median(values) for name, values in found.items()}


async def measure(target: Target, *, calls: int, rounds: int) -> None:
    costs = await connect_costs(target)
    async with bare_session(target) as session, agentkit_tools(target) as toolset:
        tool = toolset.tools[target.tool]
        assert isinstance(tool, MCPTool)
        arguments = json.dumps(target.arguments)

        async def bare() -> object:
            return await session.call_tool(target.tool, target.arguments)

        async def through_agentkit() -> object:
            output = await tool.invoke(CTX, arguments)
            assert not output.startswith("Error:"), output
            return output

        plain, wrapped = await per_call(bare, through_agentkit, calls=calls, rounds=rounds)
        sample = await session.call_tool(target.tool, target.arguments)
    own = await agentkit_only(tool, arguments, sample)
    report(target.label, costs, plain, wrapped, own)


async def agentkit_only(tool: MCPTool, arguments: str, result: object, count: int = 5000) -> float:
    """Microseconds agentkit itself spends per call: the tool with a canned server answer."""
    from mcp.types import CallToolResult

    assert isinstance(result, CallToolResult)

    async def canned(name: str, data: dict[str, Any]) -> CallToolResult:
        return result

    offline = dataclasses.replace(tool, _function=canned)
    await offline.invoke(CTX, arguments)
    start = time.process_time()
    for _ in range(count):
        await offline.invoke(CTX, arguments)
    return (time.process_time() - start) / count * 1e6


def report(
    label: str, costs: dict[str, float], plain: Timing, wrapped: Timing, own_us: float
) -> None:
    wall = wrapped.median_ms / plain.median_ms
    cpu = wrapped.cpu_ms / plain.cpu_ms
    print(f"\n== {label}: {len(plain.walls)} calls each")
    print(f"{'':24}{'bare mcp':>12}{'agentkit':>12}{'ratio':>8}")
    rows = [
        ("wall per call, median", plain.median_ms, wrapped.median_ms),
        ("wall per call, mean", plain.mean_ms, wrapped.mean_ms),
        ("client CPU per call", plain.cpu_ms, wrapped.cpu_ms),  # median over rounds
    ]
    for name, bare, ours in rows:
        print(f"{name:24}{bare:>9.3f} ms{ours:>9.3f} ms{ours / bare:>8.2f}")
    for kind in ("connect", "close"):
        bare, ours = costs[f"bare {kind}"] * 1e3, costs[f"agentkit {kind}"] * 1e3
        print(f"{'one-off ' + kind:24}{bare:>9.1f} ms{ours:>9.1f} ms{ours / bare:>8.2f}")
    print(f"agentkit's own work per call (canned server answer): {own_us:.1f} µs CPU")
    verdict = "met" if max(wall, cpu) <= GOAL else "NOT met"
    print(f"goal <= {GOAL}x: {verdict} (wall {wall:.2f}x, CPU {cpu:.2f}x)")


async def main(calls: int, rounds: int) -> None:
    stdio = Target(
        "mcp-server-time over stdio",
        MCPServerStdio(sys.executable, args=["-m", "mcp_server_time"]),
        bare_stdio,
        "get_current_time",
        TIME_ARGUMENTS,
    )
    await measure(stdio, calls=calls, rounds=rounds)
    with http_server() as url:
        http = Target(
            "MCPServer over streamable HTTP",
            MCPServerHTTP(url),
            bare_http(url),
            "echo",
            ECHO_ARGUMENTS,
        )
        await measure(http, calls=calls, rounds=rounds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=200, help="calls of each kind per server")
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds")
    parser.add_argument("--serve-http", type=int, metavar="PORT", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve_http:
        serve_http(options.serve_http)
    else:
        asyncio.run(main(options.calls, options.rounds))
