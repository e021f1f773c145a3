"""A real HTTP server on 127.0.0.1 that answers a scripted sequence of replies and records requests."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agentkit.server.http.thread import ServerThread


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a JSON body, SSE `events` or `raw` bytes, after an optional delay.

    A stream can stop early (`drop_after` events, then a clean end with no terminal event)
    or go silent after `stall_after` events for `stall` seconds before going on.
    """

    status: int = 200
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] | None = None
    delay: float = 0.0
    raw: bytes | None = None
    content_type: str = "application/json"
    drop_after: int | None = None
    stall_after: int | None = None
    stall: float = 0.0


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


class ScriptedServer:
    """A Starlette app that plays `Reply`s, in a background thread (agentkit's `ServerThread`)."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.received: list[Received] = []
        routes = [Route("/{path:path}", self._handle, methods=["GET", "POST", "DELETE"])]
        self._thread = ServerThread(Starlette(routes=routes), lifespan="off")

    @property
    def url(self) -> str:
        return self._thread.url

    def script(self, *replies: Reply) -> None:
        """Forget earlier requests and replies; answer the next requests with `replies`, in order."""
        self.replies = deque(replies)
        self.received = []

    def gaps(self) -> list[float]:
        """Seconds between consecutive requests."""
        times = [r.at for r in self.received]
        return [later - earlier for earlier, later in itertools.pairwise(times)]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop()

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        query = request.url.query
        self.received.append(
            Received(request.method, request.url.path, query, headers, body, time.monotonic())
        )
        if not self.replies:
            return JSONResponse({"error": {"message": "script exhausted"}}, status_code=418)
        reply = self.replies.popleft()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.events is not None:
            return StreamingResponse(
                _sse(reply), media_type="text/event-stream", headers=dict(reply.headers)
            )
        if reply.raw is not None:
            return Response(
                reply.raw, reply.status, headers=dict(reply.headers), media_type=reply.content_type
            )
        return JSONResponse(reply.json, status_code=reply.status, headers=dict(reply.headers))


async def _sse(reply: Reply) -> AsyncIterator[bytes]:
    assert reply.events is not None
    for number, event in enumerate(reply.events):
        if number == reply.drop_after:
            return
        if number == reply.stall_after:
            await asyncio.sleep(reply.stall)
        yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def response_json(text: str = "Hello", *, response_id: str = "resp_1") -> dict[str, Any]:
    """A minimal completed Responses API body with one assistant message and usage."""
    return {
        "id": response_id,
        "object": "response",
        "created_at": 1770803604,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "model": "gpt-test",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "usage": {
            "input_tokens": 12,
            "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
            "output_tokens": 7,
            "output_tokens_details": {"reasoning_tokens": 3},
            "total_tokens": 19,
        },
        "metadata": {},
    }


def stream_events(text: str = "Hello") -> list[dict[str, Any]]:
    """The events of a streamed one-message response."""
    in_progress = {**response_json(text), "status": "in_progress", "output": [], "usage": None}
    return [
        {"type": "response.created", "sequence_number": 0, "response": in_progress},
        {
            "type": "response.output_text.delta",
            "sequence_number": 1,
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "delta": text,
            "logprobs": [],
        },
        {"type": "response.completed", "sequence_number": 2, "response": response_json(text)},
    ]


def error_json(
    message: str, *, code: str | None = None, type_: str = "invalid_request_error"
) -> Any:
    """An OpenAI-style error body."""
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def background_events(
    text: str = "Hello world", response_id: str = "resp_bg"
) -> list[dict[str, Any]]:
    """A background response's events: created (queued), queued, in_progress, deltas, completed."""
    base = {**response_json(text, response_id=response_id), "background": True, "usage": None}
    queued = {**base, "status": "queued", "output": []}
    running = {**base, "status": "in_progress", "output": []}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": queued},
        {"type": "response.queued", "response": queued},
        {"type": "response.in_progress", "response": running},
    ]
    for word in text.split(" "):
        events.append(
            {
                "type": "response.output_text.delta",
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": word,
            }
        )
    done = {**response_json(text, response_id=response_id), "background": True}
    events.append({"type": "response.completed", "response": done})
    return [{**e, "sequence_number": n} for n, e in enumerate(events)]
