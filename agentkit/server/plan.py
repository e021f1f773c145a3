"""The steps an engine plans for one model call, and what hosted tools run (a leaf module)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentkit.server.errors import APIError
from agentkit.server.protocol.items import Item
from agentkit.server.protocol.validation import CreateRequest


@dataclass(frozen=True)
class Say:
    """An assistant message with this text."""

    text: str


@dataclass(frozen=True)
class Call:
    """A function call; `arguments` is sent exactly as given (it may be malformed on purpose)."""

    name: str
    arguments: str = "{}"
    call_id: str | None = None


@dataclass(frozen=True)
class Think:
    """A reasoning item; the summary is shown only when the request asks for one."""

    summary: str


@dataclass(frozen=True)
class Raw:
    """An output item given verbatim (an id is added when it has none)."""

    item: dict[str, Any]


@dataclass(frozen=True)
class Hosted:
    """A call of a hosted tool (e.g. `mcp`): the server runs it and the model continues.

    Args:
        tool: The hosted tool's type in the request's `tools` (e.g. "mcp").
        name: What to call within it (an MCP tool name; empty where it has one thing to do).
        arguments: JSON arguments, sent as given.
        options: Tool-specific details (e.g. `server_label`, `code`, `prompt`).
    """

    tool: str
    name: str = ""
    arguments: str = "{}"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fail:
    """Answer the request with this error instead of a response."""

    status: int
    message: str
    type: str = "server_error"
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def error(self) -> APIError:
        return APIError(
            self.status, self.message, type=self.type, code=self.code, headers=self.headers
        )


@dataclass(frozen=True)
class Wait:
    """Pause generation here for this many seconds (events stop; a cancel still stops it)."""

    seconds: float


@dataclass(frozen=True)
class Pace:
    """From here on, wait this many milliseconds before each delta event (0: no wait)."""

    ms: float


@dataclass(frozen=True)
class Abort:
    """The model fails here: an `error` event, then `response.failed` (a failed response)."""

    message: str = "The server had an error while processing your request."
    code: str = "server_error"
    type: str = "server_error"


@dataclass(frozen=True)
class Hold:
    """Keep a background response `queued` this many seconds before it starts (else ignored)."""

    seconds: float


@dataclass(frozen=True)
class Drop:
    """Close the response's first connection after this many events (it keeps running)."""

    after: int


@dataclass(frozen=True)
class Stall:
    """Send no bytes on the response's first connection for `seconds` after `after` events."""

    after: int
    seconds: float


@dataclass(frozen=True)
class Malformed:
    """Answer the response's first connection with a broken 200: "truncated" JSON or "html"."""

    body: str = "truncated"


Fault = Drop | Stall | Malformed
"""What happens to the connection that created a response (never to a resume or a retrieve)."""
Control = Wait | Pace | Abort | Hold | Fault
"""Steps that shape how a response is produced rather than what it outputs."""
Planned = Say | Call | Think | Raw | Hosted | Control


@dataclass
class Turn:
    """One model call as an engine sees it."""

    request: CreateRequest
    items: list[Item]
    reasoning_model: bool
    services: Mapping[str, Any] = field(default_factory=dict)
    """Server-wide resources by name (e.g. the file store), as hosted tools see them."""

    @property
    def model(self) -> str:
        return self.request.model
