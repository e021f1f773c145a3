"""Real MCP servers for the tests: mcp-server-time over stdio, a small MCPServer over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ImageContent, TextContent
from pydantic import BaseModel

from agentkit.tools import MCPServerStdio

TOKEN = "Bearer t0ken-for-tests"
ODD_NAME = "acme.weather/forecast for city " + "x" * 60
TIME_SERVER_MODULE = "mcp_server_time"


def time_server(**options: Any) -> MCPServerStdio:
    """The `mcp-server-time` stdio server, run by this interpreter."""
    return MCPServerStdio(sys.executable, args=["-m", TIME_SERVER_MODULE], **options)


class Point(BaseModel):
    x: int
    y: int


def build_app() -> MCPServer:
    app: MCPServer = MCPServer("agentkit-tests", log_level="WARNING")

    @app.tool(name=ODD_NAME, description="The forecast for a city.")
    def forecast(city: str, days: int = 1) -> str:
        return f"forecast for {city}: sunny for {days} day(s)"

    @app.tool(description="Count the keys of a free-form object.")
    def count_keys(data: dict[str, Any]) -> str:
        return f"{len(data)} keys: {', '.join(sorted(data))}"

    @app.tool(description="Always fails unexpectedly.")
    def explode() -> str:
        raise ValueError("kaboom")

    @app.tool(description="Fails the way a tool that expected it does.")
    def refuse(reason: str) -> str:
        raise ToolError(f"refused: {reason}")

    @app.tool(description="A point, as structured content.")
    def make_point(x: int, y: int) -> Point:
        return Point(x=x, y=y)

    @app.tool(description="The Authorization header the server received.")
    def whoami(ctx: Context) -> str:
        headers = ctx.headers or {}
        return f"authorization={headers.get('authorization')}"

    @app.tool(description="Sleeps.")
    async def slow_task(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"

    @app.tool(description="A tiny image.")
    def snapshot() -> list[Any]:
        return [
            TextContent(text="a snapshot"),
            ImageContent(data="iVBORw0KGgo=", mime_type="image/png"),
        ]

    @app.tool(description="Local time (clashes with the stdio time server's tool).")
    def get_current_time(timezone: str) -> str:
        return f"http time in {timezone}"

    return app


class RecordHeaders:
    """ASGI middleware: records each request's Authorization header; refuses a wrong token."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[str | None] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            value = headers.get(b"authorization")
            self.seen.append(value.decode() if value is not None else None)
            if value is not None and value.decode() != TOKEN:
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"unauthorized"})
                return
        await self.app(scope, receive, send)


class HTTPServer:
    """The test MCP server on a free 127.0.0.1 port, in a background thread."""

    def __init__(self) -> None:
        self.app = RecordHeaders(build_app().streamable_http_app())
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def __enter__(self) -> HTTPServer:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", access_log=False)
        server = self._server = uvicorn.Server(config)
        started = threading.Event()

        async def main() -> None:
            task = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started and not task.done():  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            started.set()
            await task

        def serve() -> None:
            with contextlib.closing(sock):
                asyncio.run(main())

        self._thread = threading.Thread(target=serve, name="mcp-test-server", daemon=True)
        self._thread.start()
        if not started.wait(15):
            raise RuntimeError("the test MCP server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(10)


def server_pids(marker: str = TIME_SERVER_MODULE) -> set[int]:
    """Live (not zombie) child processes of this process whose command line has `marker`."""
    pids: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            state, ppid = fields[0], int(fields[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if ppid == os.getpid() and state != "Z" and marker in cmdline:
                pids.add(int(entry.name))
    return pids


def wait_gone(pids: set[int], timeout: float = 5.0) -> set[int]:
    """The `pids` still alive after up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        alive &= server_pids()
        if alive:
            time.sleep(0.05)
    return alive


@contextlib.contextmanager
def no_new_servers() -> Iterator[None]:
    """Assert that every time server started inside the block is gone at its end."""
    before = server_pids()
    yield
    assert wait_gone(server_pids() - before) == set()
