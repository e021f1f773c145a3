"""How a response reaches a connection: SSE as its events are made, or JSON, with scripted faults.

Faults (`Drop`, `Stall`, `Malformed`) apply only to the connection that created the response;
resumes and retrieves are always delivered whole.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from agentkit.server.http.access import ConnectionCut
from agentkit.server.http.sse import dumps, frame
from agentkit.server.plan import Control, Drop, Malformed, Stall

Event = dict[str, Any]
Faults = Callable[[], Sequence[Control]]
GATEWAY_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def no_faults() -> Sequence[Control]:
    return ()


class Dropped(ConnectionCut):
    """Raised mid-answer so that the ASGI server closes the connection (a scripted `Drop`)."""


class _QuietDrops(logging.Filter):
    """Keeps cut connections out of uvicorn's error log: a scripted drop is the point, and a
    failure after the answer began was logged already, with its request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, ConnectionCut)


def quiet_scripted_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())


class EventStream(StreamingResponse):
    """`text/event-stream` following a response's events until its log ends.

    `on_disconnect` runs when the client goes away first (a non-background response stops).
    """

    def __init__(
        self,
        events: AsyncIterator[Event],
        *,
        faults: Faults = no_faults,
        on_disconnect: Callable[[], None] | None = None,
        strip_obfuscation: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(_nothing(), media_type="text/event-stream", headers=headers)
        self.events = events
        self.faults = faults
        self.on_disconnect = on_disconnect
        self.strip_obfuscation = strip_obfuscation

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        malformed = _first(self.faults(), Malformed)
        if malformed is not None:
            await _malformed(send, malformed, self.raw_headers, sse=True, first=None)
            return
        writer = asyncio.ensure_future(self._write(send))
        watcher = asyncio.ensure_future(_disconnect(receive))
        gone = False
        try:
            await asyncio.wait({writer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
            if not writer.done():
                gone = True
                writer.cancel()
                if self.on_disconnect is not None:
                    self.on_disconnect()
        if not gone:
            writer.result()  # a scripted drop raises here, and the server closes the connection

    async def _write(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        sent = 0
        async for event in self.events:
            await _before(sent, self.faults())
            if self.strip_obfuscation and "obfuscation" in event:
                event = {k: v for k, v in event.items() if k != "obfuscation"}
            await send({"type": "http.response.body", "body": frame(event), "more_body": True})
            sent += 1
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class JSONAnswer(StreamingResponse):
    """A JSON body, answered as the connection's faults say (late, cut off, or broken)."""

    def __init__(
        self, body: Any, *, faults: Faults = no_faults, headers: dict[str, str] | None = None
    ) -> None:
        self.data = dumps(body)
        headers = {**(headers or {}), "content-length": str(len(self.data))}
        super().__init__(_nothing(), media_type="application/json", headers=headers)
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self.faults()
        malformed = _first(faults, Malformed)
        if malformed is not None:
            await _malformed(send, malformed, self.raw_headers, sse=False, first=self.data)
            return
        for stall in faults:
            if isinstance(stall, Stall):
                await asyncio.sleep(stall.seconds)
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        if _first(faults, Drop) is not None:
            # Half the answer, then the connection is gone: the client saw the request through.
            half = self.data[: len(self.data) // 2]
            await send({"type": "http.response.body", "body": half, "more_body": True})
            raise Dropped("scripted drop of a JSON answer")
        await send({"type": "http.response.body", "body": self.data, "more_body": False})


async def _before(sent: int, faults: Sequence[Control]) -> None:
    """Apply the faults due once `sent` events went out: stall, then maybe drop."""
    for fault in faults:
        if isinstance(fault, Stall) and fault.after == sent:
            await asyncio.sleep(fault.seconds)
    for fault in faults:
        if isinstance(fault, Drop) and fault.after == sent:
            raise Dropped(f"scripted drop after {sent} events")


async def _malformed(
    send: Send,
    fault: Malformed,
    raw_headers: list[tuple[bytes, bytes]],
    *,
    sse: bool,
    first: bytes | None,
) -> None:
    """A 200 a client cannot read: a gateway's HTML page, or JSON cut in half."""
    if fault.body == "html":
        body, kind = GATEWAY_PAGE, b"text/html"
    else:
        whole = first if first is not None else b'{"type":"response.created","sequence_number":0}'
        body = whole[: len(whole) // 2]
        if sse:
            body = b"event: response.created\ndata: " + body + b"\n\n"
        kind = b"text/event-stream" if sse else b"application/json"
    headers = [(k, v) for k, v in raw_headers if k not in (b"content-type", b"content-length")]
    headers += [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _first(faults: Sequence[Control], kind: type[Any]) -> Any:
    return next((fault for fault in faults if isinstance(fault, kind)), None)


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""
