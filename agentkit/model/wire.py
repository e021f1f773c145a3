"""The Responses endpoint on the wire: pre-built bodies out, plain JSON dicts and events back.

agentkit's request bodies are already JSON-ready dicts and it keeps the service's answers as
dicts, so these functions use the SDK only for what it is good at (auth, base URL, headers,
status errors) through `client.post/get(..., cast_to=httpx2.Response)`, and skip both the
param transform (1.5-2 ms per input item) and the typed parse of every answer.

An answer that is not what the service sends (a truncated body, a gateway's HTML page, a
stream that ends without its terminal event or goes silent) raises a typed error here, so
the layers above decide what is safe to do next.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any, cast

import httpx2
import openai

__all__ = [
    "TERMINAL_EVENTS",
    "TERMINAL_STATUSES",
    "MalformedAnswer",
    "StreamFailed",
    "StreamInterrupted",
    "cancel",
    "create",
    "create_conversation",
    "retrieve",
    "stream_create",
    "stream_retrieve",
]

Body = dict[str, Any]
Event = dict[str, Any]

TERMINAL_STATUSES = frozenset({"completed", "incomplete", "failed", "cancelled"})
TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
SNIPPET = 120


class MalformedAnswer(Exception):
    """A 2xx answer that is not a Responses API body or event stream (e.g. an HTML page)."""

    def __init__(self, what: str, content: bytes | str = b"") -> None:
        text = content.decode(errors="replace") if isinstance(content, bytes) else content
        snippet = " ".join(text[:SNIPPET].split())
        super().__init__(f"{what}{f': {snippet!r}' if snippet else ''}")


class StreamInterrupted(Exception):
    """A stream ended before its terminal event: the connection dropped, or went silent."""

    def __init__(self, reason: str, *, response_id: str | None, last_sequence: int | None) -> None:
        super().__init__(f"the response stream {reason} before it finished")
        self.reason = reason
        """"dropped" (closed or reset) or "stalled" (no bytes within the read deadline)."""
        self.response_id = response_id
        self.last_sequence = last_sequence


class StreamFailed(Exception):
    """The service sent an `error` event in the middle of a stream."""

    def __init__(self, message: str, code: str | None, response_id: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.response_id = response_id


def _options(
    headers: Mapping[str, str] | None, timeout: httpx2.Timeout | None, params: Body | None = None
) -> openai.RequestOptions:
    options: openai.RequestOptions = {"max_retries": 0, "security": {"bearer_auth": True}}
    if headers:
        options["headers"] = dict(headers)
    if timeout is not None:
        options["timeout"] = timeout
    if params:
        options["params"] = params
    return options


async def create(
    client: openai.AsyncOpenAI,
    body: Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    http_timeout: httpx2.Timeout | None = None,
) -> Body:
    """`POST /responses` without streaming: the Response body as a dict."""
    answer = await client.post(
        "/responses", cast_to=httpx2.Response, body=body, options=_options(headers, http_timeout)
    )
    return _response_body(answer)


async def create_conversation(
    client: openai.AsyncOpenAI,
    *,
    headers: Mapping[str, str] | None = None,
    http_timeout: httpx2.Timeout | None = None,
) -> str:
    """`POST /conversations`: a new, empty service-side Conversation; its id."""
    answer = await client.post(
        "/conversations", cast_to=httpx2.Response, body={}, options=_options(headers, http_timeout)
    )
    try:
        body = json.loads(answer.content)
        conversation_id = body["id"]
    except (ValueError, KeyError, TypeError):
        raise MalformedAnswer(
            f"HTTP {answer.status_code} answer is not a Conversation", answer.content
        ) from None
    if not isinstance(conversation_id, str):
        raise MalformedAnswer("the new Conversation has no id", answer.content)
    return conversation_id


async def retrieve(
    client: openai.AsyncOpenAI,
    response_id: str,
    *,
    headers: Mapping[str, str] | None = None,
    http_timeout: httpx2.Timeout | None = None,
) -> Body:
    """`GET /responses/{id}`: a stored response as it is now."""
    answer = await client.get(
        f"/responses/{response_id}",
        cast_to=httpx2.Response,
        options=_options(headers, http_timeout),
    )
    return _response_body(answer)


async def cancel(
    client: openai.AsyncOpenAI,
    response_id: str,
    *,
    headers: Mapping[str, str] | None = None,
    http_timeout: httpx2.Timeout | None = None,
) -> Body:
    """`POST /responses/{id}/cancel`: stop a background response; its body as it ended."""
    answer = await client.post(
        f"/responses/{response_id}/cancel",
        cast_to=httpx2.Response,
        options=_options(headers, http_timeout),
    )
    return _response_body(answer)


async def stream_create(
    client: openai.AsyncOpenAI,
    body: Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    http_timeout: httpx2.Timeout | None = None,
    open_by: float | None = None,
) -> AsyncIterator[Event]:
    """`POST /responses` with `stream: true`: its events as dicts, up to the terminal one.

    `open_by` (an event loop time) bounds the wait for the answer's headers.
    """
    async with asyncio.timeout_at(open_by):
        answer = await client.post(
            "/responses",
            cast_to=httpx2.Response,
            body={**body, "stream": True},
            options=_options(headers, http_timeout),
            stream=True,
        )
    async for event in _events(answer, None):
        yield event


async def stream_retrieve(
    client: openai.AsyncOpenAI,
    response_id: str,
    after: int | None,
    *,
    headers: Mapping[str, str] | None = None,
    http_timeout: httpx2.Timeout | None = None,
) -> AsyncIterator[Event]:
    """`GET /responses/{id}?stream=true&starting_after=N`: a background response's events
    after sequence number `after` (all of them for None), then live ones until it ends."""
    params: Body = {"stream": "true"}
    if after is not None:
        params["starting_after"] = after
    answer = await client.get(
        f"/responses/{response_id}",
        cast_to=httpx2.Response,
        options=_options(headers, http_timeout, params),
        stream=True,
    )
    async for event in _events(answer, response_id):
        yield event


def _response_body(answer: httpx2.Response) -> Body:
    content = answer.content
    try:
        body = json.loads(content)
    except ValueError:
        raise MalformedAnswer(
            f"HTTP {answer.status_code} answer is not JSON "
            f"({answer.headers.get('content-type', 'no content type')})",
            content,
        ) from None
    if not _is_response(body):
        raise MalformedAnswer(f"HTTP {answer.status_code} answer is not a Response", content)
    return body  # type: ignore[no-any-return]


def _is_response(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and isinstance(body.get("id"), str)
        and isinstance(body.get("status"), str)
        and isinstance(body.get("output"), list)
    )


async def _events(answer: httpx2.Response, response_id: str | None) -> AsyncIterator[Event]:
    """The SSE events of `answer` as dicts, up to the terminal one; closes the connection
    however the iteration ends.

    An `error` event (the live wire nests its fields under `error`, and follows it with
    `response.failed`) raises `StreamFailed` once the stream ends; a stream that ends before
    its terminal event raises `StreamInterrupted`.
    """
    last: int | None = None
    failure: StreamFailed | None = None
    source = cast(
        AsyncGenerator[httpx2.ServerSentEvent, None], httpx2.EventSource(answer).__aiter__()
    )
    try:
        async for sse in source:
            event = _event(sse)
            if event is None:
                continue
            last = event.get("sequence_number", last)
            response_id = _response_id(event) or response_id
            if event["type"] == "error":
                failure = _failure(event, response_id)
            elif event["type"] in TERMINAL_EVENTS:
                await _drain(source)  # the service closes the stream right after its end
                if failure is not None:
                    failure.response_id = response_id
                    raise failure
                yield event
                return
            else:
                yield event
    except httpx2.SSEError as error:
        raise MalformedAnswer(
            f"HTTP {answer.status_code} answer is not an event stream: {error}"
        ) from None
    except httpx2.ReadTimeout:
        raise StreamInterrupted("stalled", response_id=response_id, last_sequence=last) from None
    except httpx2.TransportError:
        raise StreamInterrupted("dropped", response_id=response_id, last_sequence=last) from None
    finally:
        await source.aclose()
        await answer.aclose()
    if failure is not None:
        raise failure
    raise StreamInterrupted("dropped", response_id=response_id, last_sequence=last)


async def _drain(source: AsyncIterator[httpx2.ServerSentEvent]) -> None:
    """Read a finished stream to its end, so no reader of it is left half way."""
    with contextlib.suppress(httpx2.TransportError):
        async for _ in source:
            pass


def _failure(event: Event, response_id: str | None) -> StreamFailed:
    """The error an `error` event reports: nested under `error` live, flat in the spec."""
    nested = event.get("error")
    fields: Event = nested if isinstance(nested, dict) else event
    message = str(fields.get("message") or "The response failed.")
    return StreamFailed(message, _optional_str(fields.get("code")), response_id)


def _event(sse: httpx2.ServerSentEvent) -> Event | None:
    if not sse.data or sse.data == "[DONE]":
        return None
    try:
        event = json.loads(sse.data)
    except ValueError:
        raise MalformedAnswer("a stream event is not JSON", sse.data) from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise MalformedAnswer("a stream event has no type", sse.data)
    return event


def _response_id(event: Event) -> str | None:
    response = event.get("response")
    if isinstance(response, dict) and isinstance(response.get("id"), str):
        return response["id"]  # type: ignore[no-any-return]
    return None


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)
