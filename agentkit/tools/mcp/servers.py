"""MCP servers an agent connects to itself: where they are and how to open a session.

These are configuration only; `agentkit.tools.mcp.connection` runs the sessions. The `mcp`
package is imported when a session opens, never when agentkit is imported. Headers and
environment values are treated as secrets: they are left out of `repr` and scrubbed from every
message agentkit writes.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal
from urllib.parse import urlsplit

from agentkit._secrets import MIN_SECRET, header_secrets, scrub, url_secrets
from agentkit.errors import AgentkitError, ConfigurationError
from agentkit.tools.hosted import url_without_credentials
from agentkit.tools.mcp.names import server_slug

if TYPE_CHECKING:
    from mcp import ClientSession

_SERVER_NAME = re.compile(r"[a-zA-Z0-9_-]{1,32}")
_LAUNCHERS = frozenset(
    {"python", "python3", "py", "uv", "uvx", "pipx", "npx", "node", "bun", "bunx", "deno"}
)
_VERSIONED = re.compile(r"(python3?|node)[0-9.]*")
_SUBCOMMANDS = frozenset({"run", "x", "exec", "tool"})
_SCRIPT_SUFFIX = re.compile(r"\.(py|js|mjs|cjs|ts)$")


class MCPConnectionError(AgentkitError):
    """An MCP server could not be started or connected to, or did not list its tools."""


@dataclass(frozen=True, kw_only=True)
class MCPServer(ABC):
    """What every MCP server shares; use `MCPServerStdio` or `MCPServerHTTP`.

    Args:
        name: Identifies the server in logs and prefixes its tools' names when they clash
            with another server's; defaults to one derived from the command or URL.
        timeout: Seconds a tool call may take before the model is told it timed out.
        connect_timeout: Seconds to start the server, initialize the session and list tools.
        allowed_tools: Only offer these tools (by their MCP names); default all.
        require_approval: Which calls wait for the agent's approval policy: "never" (default),
            "always", or the MCP names of the tools that need it.
        trusted: Believe the server's `readOnlyHint` annotations: with "always", its
            read-only tools run without approval. An untrusted server's hints are ignored.
    """

    name: str = ""
    timeout: float | None = 60.0
    connect_timeout: float = 30.0
    allowed_tools: Collection[str] | None = None
    require_approval: Literal["always", "never"] | Collection[str] = "never"
    trusted: bool = False
    _shortest_secret: ClassVar[int] = MIN_SECRET

    def __post_init__(self) -> None:
        name = self.name or server_slug(self._default_name())
        if not _SERVER_NAME.fullmatch(name):
            raise ConfigurationError(
                f"Invalid MCP server name {name!r}: use 1 to 32 letters, digits, '_' or '-'"
            )
        object.__setattr__(self, "name", name)
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigurationError(f"MCP server {name!r}: timeout must be positive seconds")
        if self.connect_timeout <= 0:
            raise ConfigurationError(f"MCP server {name!r}: connect_timeout must be positive")
        if isinstance(self.allowed_tools, str):
            raise ConfigurationError(f"MCP server {name!r}: allowed_tools must be a list of names")
        if self.allowed_tools is not None:
            object.__setattr__(self, "allowed_tools", frozenset(self.allowed_tools))
        if self.require_approval not in ("always", "never"):
            if isinstance(self.require_approval, str):
                raise ConfigurationError(
                    f"MCP server {name!r}: require_approval must be 'always', 'never' or a list "
                    "of tool names"
                )
            object.__setattr__(self, "require_approval", frozenset(self.require_approval))

    def needs_approval(self, tool: str, read_only: bool) -> bool:
        """Whether calls of the MCP tool `tool` wait for approval under this server's settings."""
        if self.require_approval == "never":
            return False
        if self.require_approval == "always":
            return not (self.trusted and read_only)
        return tool in self.require_approval

    @abstractmethod
    def _default_name(self) -> str:
        """A name for logs and prefixes, from the command or URL."""

    def _secrets(self) -> list[str]:
        """Values that must never appear in logs or error messages."""
        return []

    def scrub(self, text: str) -> str:
        """`text` with this server's secret values replaced by `***`."""
        return scrub(text, self._secrets(), min_length=self._shortest_secret)

    @abstractmethod
    async def open_session(self, stack: AsyncExitStack) -> ClientSession:
        """Start the transport and an initialized session on `stack` (closed by the same task)."""


@dataclass(frozen=True)
class MCPServerStdio(MCPServer):
    """An MCP server agentkit starts as a child process and talks to over stdin/stdout.

    Args:
        command: The executable, e.g. `"uvx"` or `sys.executable`.
        args: Its arguments, e.g. `["mcp-server-time"]`.
        env: Variables added to a minimal inherited environment (PATH, HOME, ...).
        cwd: The working directory of the process.
    """

    command: str
    _: KW_ONLY
    args: Sequence[str] = ()
    env: Mapping[str, str] | None = field(default=None, repr=False)
    cwd: str | os.PathLike[str] | None = None
    _shortest_secret: ClassVar[int] = 8  # not every variable is a secret (LOG_LEVEL=info)

    def __post_init__(self) -> None:
        if isinstance(self.args, str):
            raise ConfigurationError("MCPServerStdio: args must be a list of strings")
        object.__setattr__(self, "args", tuple(self.args))
        super().__post_init__()

    def _default_name(self) -> str:
        return stdio_name(self.command, self.args)

    def _secrets(self) -> list[str]:
        return [value for value in (self.env or {}).values() if value]

    async def open_session(self, stack: AsyncExitStack) -> ClientSession:
        from mcp import ClientSession, StdioServerParameters, stdio_client

        params = StdioServerParameters(
            command=self.command,
            args=list(self.args),
            env=dict(self.env) if self.env is not None else None,
            cwd=None if self.cwd is None else os.fspath(self.cwd),
        )
        read, write = await stack.enter_async_context(stdio_client(params))
        return await _initialized(stack, ClientSession(read, write))


@dataclass(frozen=True)
class MCPServerHTTP(MCPServer):
    """An MCP server reached over streamable HTTP.

    Args:
        url: The MCP endpoint, e.g. `"https://example.com/mcp"`. A user name and password in
            it are moved into an `Authorization: Basic` header; a query parameter that looks
            like a credential (`token`, `api_key`, ...) is refused: use `headers`.
        headers: Sent with every request, e.g. `{"Authorization": "Bearer ..."}`; secret.
    """

    url: str
    _: KW_ONLY
    headers: Mapping[str, str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        scheme = urlsplit(self.url).scheme
        if scheme not in ("http", "https"):  # not quoted: the URL may hold credentials
            raise ConfigurationError(f"MCPServerHTTP: the URL must be http(s), not {scheme!r}")
        url, headers = url_without_credentials(self.url, self.headers, "MCPServerHTTP")
        object.__setattr__(self, "url", url)
        if headers is not None:
            object.__setattr__(self, "headers", dict(headers))
        super().__post_init__()

    def _default_name(self) -> str:
        return urlsplit(self.url).hostname or "mcp"

    def _secrets(self) -> list[str]:
        return header_secrets(self.headers or {}) + url_secrets(self.url)

    def __repr__(self) -> str:
        # The URL's query string and user info can carry credentials too.
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"MCPServerHTTP({parts.scheme}://{host}{port}{parts.path}, name={self.name!r})"

    async def open_session(self, stack: AsyncExitStack) -> ClientSession:
        import httpx2
        from mcp import ClientSession
        from mcp.client.streamable_http import streamable_http_client

        http = httpx2.AsyncClient(
            headers=dict(self.headers or {}), timeout=httpx2.Timeout(30.0, read=300.0)
        )
        await stack.enter_async_context(http)
        read, write = await stack.enter_async_context(
            streamable_http_client(self.url, http_client=http)
        )
        return await _initialized(stack, ClientSession(read, write))


async def _initialized(stack: AsyncExitStack, session: ClientSession) -> ClientSession:
    await stack.enter_async_context(session)
    await session.initialize()
    return session


def stdio_name(command: str, args: Sequence[str]) -> str:
    """A server name from its command line: what a launcher (python, uvx, npx...) runs, else the command."""
    program = os.path.basename(command).removesuffix(".exe")
    if program in _LAUNCHERS or _VERSIONED.fullmatch(program):
        targets = (arg for arg in args if not arg.startswith("-") and arg not in _SUBCOMMANDS)
        program = next(targets, program).rstrip("/").rsplit("/", 1)[-1]
    if not program.startswith("@"):
        program = program.split("@", 1)[0]
    return _SCRIPT_SUFFIX.sub("", program)


def describe(exc: BaseException) -> str:
    """An exception as one line, unwrapping task groups to their first error (not scrubbed)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    detail = str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
