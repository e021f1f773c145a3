"""The server's side of remote MCP: list a server's tools and call one, over streamable HTTP.

Each operation opens its own connection (transport, session, `initialize`), does its work and
closes it, all in the calling task: anyio's cancel scopes must be exited by the task that entered
them, and a response's work happens in one task. The whole operation, connecting included, is
bounded by `Endpoint.timeout`.

Header values and the URL's credentials are secrets: they are never logged, and every failure
message is scrubbed of them before it leaves this module. The `mcp` package is imported here, when a connection opens, never
when agentkit is imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from agentkit._secrets import has_header, header_secrets, scrub, url_credentials, url_secrets

if TYPE_CHECKING:
    import ssl

    from mcp import ClientSession
    from mcp.types import CallToolResult, Tool

T = TypeVar("T")
MAX_LIST_PAGES = 100


@dataclass(frozen=True)
class Endpoint:
    """Where an MCP server is and how to reach it; `headers` are secret (not in `repr`)."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout: float = 30.0

    def scrub(self, text: str) -> str:
        """`text` without this endpoint's header values, tokens, nor the URL's credentials."""
        return scrub(text, header_secrets(self.headers) + url_secrets(self.url))

    def target(self) -> tuple[str, dict[str, str]]:
        """The URL to connect to and the headers to send.

        A user name and password in the URL become a Basic `Authorization` header unless one is
        configured, which wins (httpx would let the URL's override it).
        """
        found = url_credentials(self.url)
        headers = dict(self.headers)
        if found.authorization is not None and not has_header(headers, "Authorization"):
            headers["Authorization"] = found.authorization
        return found.url, headers


class MCPFailure(Exception):
    """An operation did not get a result: the server was unreachable, refused, timed out, or
    answered with a JSON-RPC error.

    Attributes:
        kind: "http" (an HTTP error status), "timeout", "unreachable" or "protocol".
        code: The HTTP status ("http"), or the JSON-RPC error code ("protocol"), else None.
        detail: What went wrong, scrubbed of secrets.
    """

    def __init__(self, kind: str, detail: str, code: int | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.code = code

    @property
    def status_line(self) -> str:
        """ "401 (Unauthorized)", as the service quotes an HTTP status; 424 when there was none."""
        status = self.code if self.kind == "http" and self.code else 424
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        return f"{status} ({phrase})"


async def list_tools(endpoint: Endpoint) -> list[Tool]:
    """Every tool the server lists, following pagination (bounded)."""
    from mcp.types import PaginatedRequestParams

    async def run(session: ClientSession) -> list[Tool]:
        result = await session.list_tools()
        tools = list(result.tools)
        for _ in range(MAX_LIST_PAGES):
            if not result.next_cursor:
                break
            params = PaginatedRequestParams(cursor=result.next_cursor)
            result = await session.list_tools(params=params)
            tools.extend(result.tools)
        return tools

    return await _operate(endpoint, run)


async def call_tool(endpoint: Endpoint, name: str, arguments: dict[str, Any]) -> CallToolResult:
    """The result of `tools/call` (an `isError` result is a result, not a failure)."""

    async def run(session: ClientSession) -> CallToolResult:
        return await session.call_tool(name, arguments)

    return await _operate(endpoint, run)


async def _operate(endpoint: Endpoint, run: Callable[[ClientSession], Awaitable[T]]) -> T:
    statuses: list[int] = []
    deadline = asyncio.timeout(endpoint.timeout)
    try:
        async with deadline, _session(endpoint, statuses) as session:
            return await run(session)
    except Exception as exc:
        # httpx's own clock (the same seconds) can end a read first: under load both expire
        # together, and the error that surfaces is then httpx's, inside anyio's task group.
        error = TimeoutError() if deadline.expired() else _first(exc)
        # `from None`: the cause may carry the request's headers.
        raise _failure(endpoint, error, statuses) from None


@contextlib.asynccontextmanager
async def _session(endpoint: Endpoint, statuses: list[int]) -> AsyncIterator[ClientSession]:
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def record(response: httpx2.Response) -> None:
        if response.status_code >= 400:
            statuses.append(response.status_code)

    url, headers = endpoint.target()
    http_client = httpx2.AsyncClient(
        headers=headers,
        timeout=httpx2.Timeout(endpoint.timeout),
        event_hooks={"response": [record]},
        verify=_tls(),
    )
    async with (
        http_client,
        streamable_http_client(url, http_client=http_client) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's default TLS context, made once: making one costs ~50 ms, a connection far less."""
    import httpx2

    return httpx2.create_ssl_context()


def _first(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _failure(endpoint: Endpoint, exc: BaseException, statuses: list[int]) -> MCPFailure:
    from mcp.shared.exceptions import MCPError

    if _is_timeout(exc):  # first: an earlier response's status (a refused GET) is not why
        return MCPFailure("timeout", f"the MCP server did not answer within {endpoint.timeout:g} s")
    if statuses:
        status = statuses[-1]
        return MCPFailure("http", f"the MCP server answered HTTP {status}", status)
    if isinstance(exc, MCPError):
        return MCPFailure("protocol", endpoint.scrub(exc.message or "MCP error"), exc.code)
    detail = str(exc)
    reason = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    kind = "unreachable" if _is_transport_error(exc) else "protocol"
    code = None if kind == "unreachable" else -32603
    return MCPFailure(kind, endpoint.scrub(reason), code)


def _is_timeout(exc: BaseException) -> bool:
    """Our deadline, or httpx's (a `TransportError` too, but not an unreachable server)."""
    import httpx2

    return isinstance(exc, TimeoutError | httpx2.TimeoutException)


def _is_transport_error(exc: BaseException) -> bool:
    import httpx2

    return isinstance(exc, httpx2.TransportError | OSError)
