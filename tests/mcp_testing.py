"""What the MCP test suites share: real MCP servers on free 127.0.0.1 ports, and common tools.

- `StreamableHTTPServer`: an MCP ASGI app served by uvicorn in a background thread; it records
  every request's headers and can refuse requests with HTTP 401.
- `add_common_tools`: tools each suite needs (one that raises, one that refuses, structured,
  image and slow results); each suite adds its own special tools next to them.
- `add_quoting_tools`: two tools that quote the credentials they got, for the secret tests.
- `everything_entry` and `EverythingHTTP`: the npm `@modelcontextprotocol/server-everything`
  that `./dev setup` installs when npm is present (tests using it skip when it is not).

Imported as a top-level module: `tests/` is on sys.path (pytest's prepend import mode), so this
file must not be named after a real package such as `mcp`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Self

import pytest
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ImageContent, TextContent
from pydantic import BaseModel

TIME_SERVER_MODULE = "mcp_server_time"  # `python -m mcp_server_time`: the stdio time server

# (request headers, query string) -> whether to answer HTTP 401 instead of serving it
Refuse = Callable[[dict[str, str], str], bool]


class StreamableHTTPServer:
    """An MCP ASGI app on a free 127.0.0.1 port, served by uvicorn in a background thread.

    Args:
        app: The ASGI app, e.g. `MCPServer(...).streamable_http_app()`.
        name: The thread's name.
        refuse: Answers HTTP 401 to the requests for which it returns True.
    """

    def __init__(self, app: Any, *, name: str = "mcp-test-server", refuse: Refuse | None = None):
        self.app = app
        self.name = name
        self.refuse = refuse
        self.seen: list[dict[str, str]] = []  # each HTTP request's headers, lower-case names
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    @property
    def authorizations(self) -> list[str | None]:
        """The Authorization header of each request received (None where there was none)."""
        return [headers.get("authorization") for headers in self.seen]

    def resources(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """Held open, in the server's event loop, for as long as it serves (subclasses' hook)."""
        return contextlib.nullcontext()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            self.seen.append(headers)
            query = scope.get("query_string", b"").decode("latin-1")
            if self.refuse is not None and self.refuse(headers, query):
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"unauthorized"})
                return
        await self.app(scope, receive, send)

    def __enter__(self) -> Self:
        # IPPROTO_TCP: uvicorn sets TCP_NODELAY only on sockets that say they are TCP; without it
        # each answer waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self, log_level="warning", lifespan="on", access_log=False)
        server = self._server = uvicorn.Server(config)
        started = threading.Event()

        async def main() -> None:
            async with self.resources():
                task = asyncio.create_task(server.serve(sockets=[sock]))
                while not server.started and not task.done():  # noqa: ASYNC110
                    await asyncio.sleep(0.005)
                started.set()
                await task

        def run() -> None:
            with contextlib.closing(sock):
                asyncio.run(main())

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        if not started.wait(20):
            raise RuntimeError(f"{self.name} did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(10)


class Point(BaseModel):
    x: int
    y: int


def add_common_tools(app: MCPServer) -> MCPServer:
    """Add `explode`, `refuse`, `make_point`, `slow_task` and `snapshot` to `app`."""

    @app.tool(description="Always fails unexpectedly.")
    def explode() -> str:
        raise ValueError("kaboom")

    @app.tool(description="Fails the way a tool that expected it does.")
    def refuse(reason: str) -> str:
        raise ToolError(f"refused: {reason}")

    @app.tool(description="A point, as structured content.")
    def make_point(x: int, y: int) -> Point:
        return Point(x=x, y=y)

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

    return app


def add_quoting_tools(app: MCPServer) -> MCPServer:
    """Add `repeat_authorization` and `refuse_authorization`: they quote the Authorization
    header they got, in an output and in an error, as a careless server does."""

    @app.tool(description="Answers with the Authorization header it got.")
    def repeat_authorization(ctx: Context) -> str:
        return f"you sent {(ctx.headers or {}).get('authorization')}"

    @app.tool(description="Fails quoting the Authorization header it got.")
    def refuse_authorization(ctx: Context) -> str:
        raise ToolError(f"{(ctx.headers or {}).get('authorization')} may not do this")

    return app


# --- @modelcontextprotocol/server-everything (npm) -----------------------------------------------

NPM_PREFIX = Path(__file__).resolve().parents[1] / ".cache" / "npm"
EVERYTHING = NPM_PREFIX / "node_modules" / "@modelcontextprotocol" / "server-everything"


def everything_entry() -> tuple[str, Path]:
    """`(node, dist/index.js)` of server-everything, or skip the test saying why it is absent."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("@modelcontextprotocol/server-everything needs node, which is not on PATH")
    entry = EVERYTHING / "dist" / "index.js"
    if not entry.is_file():
        pytest.skip(
            f"@modelcontextprotocol/server-everything is not installed in {NPM_PREFIX} "
            "(./dev setup installs it when npm is on PATH)"
        )
    return node, entry


class EverythingHTTP:
    """server-everything over streamable HTTP, as a child process on a free 127.0.0.1 port."""

    def __init__(self, node: str, entry: Path) -> None:
        self.command = [node, str(entry), "streamableHttp"]
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def __enter__(self) -> EverythingHTTP:
        for _ in range(3):  # another process may take the free port before node binds it
            with tempfile.TemporaryFile() as errors:
                if self._start(errors):
                    return self
                errors.seek(0)
                said = errors.read().decode(errors="replace").strip()
        raise RuntimeError(f"{' '.join(self.command)} did not start: {said}")

    def _start(self, errors: IO[bytes]) -> bool:
        with socket.socket() as probe:  # it takes its port from $PORT, so pick a free one
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            self.command,
            env={**os.environ, "PORT": str(self.port)},
            stdout=subprocess.DEVNULL,  # it logs every request there
            stderr=errors,
        )
        deadline = time.monotonic() + 5  # it listens within a second
        while self.process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return True
            time.sleep(0.05)
        self.__exit__()
        return False

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
