"""Real MCP servers for the tests: mcp-server-time over stdio, a small MCPServer over HTTP."""

from __future__ import annotations

import base64
import contextlib
import io
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ImageContent, TextContent
from mcp_testing import TIME_SERVER_MODULE, StreamableHTTPServer, add_common_tools

from agentkit.tools import MCPServerStdio

TOKEN = "Bearer t0ken-for-tests"
ODD_NAME = "acme.weather/forecast for city " + "x" * 60


def _png(width: int, height: int) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


PHOTO_PNG = _png(4, 2)


def time_server(**options: Any) -> MCPServerStdio:
    """The `mcp-server-time` stdio server, run by this interpreter."""
    return MCPServerStdio(sys.executable, args=["-m", TIME_SERVER_MODULE], **options)


def build_app() -> MCPServer:
    app: MCPServer = MCPServer("agentkit-tests", log_level="WARNING")

    @app.tool(name=ODD_NAME, description="The forecast for a city.")
    def forecast(city: str, days: int = 1) -> str:
        return f"forecast for {city}: sunny for {days} day(s)"

    @app.tool(description="Count the keys of a free-form object.")
    def count_keys(data: dict[str, Any]) -> str:
        return f"{len(data)} keys: {', '.join(sorted(data))}"

    @app.tool(description="The Authorization header the server received.")
    def whoami(ctx: Context) -> str:
        headers = ctx.headers or {}
        return f"authorization={headers.get('authorization')}"

    @app.tool(description="A real 4x2 PNG picture.")
    def photo() -> list[Any]:
        return [TextContent(text="a photo"), ImageContent(data=PHOTO_PNG, mime_type="image/png")]

    @app.tool(description="Local time (clashes with the stdio time server's tool).")
    def get_current_time(timezone: str) -> str:
        return f"http time in {timezone}"

    return add_common_tools(app)


def _wrong_token(headers: dict[str, str], query: str) -> bool:
    return headers.get("authorization", TOKEN) != TOKEN


class HTTPServer(StreamableHTTPServer):
    """The test tools over streamable HTTP; a request with a wrong token gets HTTP 401."""

    def __init__(self) -> None:
        app = build_app().streamable_http_app()
        super().__init__(app, name="mcp-test-server", refuse=_wrong_token)


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


def wait_gone(pids: set[int], timeout: float = 5.0, marker: str = TIME_SERVER_MODULE) -> set[int]:
    """The `pids` still alive after up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        alive &= server_pids(marker)
        if alive:
            time.sleep(0.05)
    return alive


@contextlib.contextmanager
def no_new_servers(marker: str = TIME_SERVER_MODULE) -> Iterator[None]:
    """Assert that every server (`marker` in its command line) started in the block is gone."""
    before = server_pids(marker)
    yield
    assert wait_gone(server_pids(marker) - before, marker=marker) == set()
