"""Send request bodies agentkit built itself to `POST /responses`, without the SDK's param transform.

`client.responses.create(input=items)` walks every input item through the SDK's typed
param transform, about 1.5-2 ms of CPU per item; resending a long history that way makes a
run O(N²). agentkit's bodies are already plain JSON-ready dicts, so these functions hand them
to the SDK's HTTP layer (`client.post`), which only `json.dumps` them, and still get the
SDK's auth, headers, error types and typed `Response` / stream events back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import openai
from openai import AsyncStream
from openai.types.responses import Response, ResponseStreamEvent

from agentkit.model.retry import RetryPolicy, with_retries

__all__ = ["RequestTimeout", "create_response", "open_stream", "stream_response"]

RequestTimeout = float | openai.Timeout
"""Seconds, or an `openai.Timeout`; `None` in the functions below means the client's timeout."""

T = TypeVar("T")


async def create_response(
    client: openai.AsyncOpenAI,
    body: Mapping[str, Any],
    *,
    extra_headers: Mapping[str, str] | None = None,
    timeout: RequestTimeout | None = None,  # noqa: ASYNC109 - the SDK's per-request HTTP timeout
    retry: RetryPolicy | None = None,
) -> Response:
    """Create a response from a pre-built request body; `retry` retries transient failures."""
    options = _request_options(extra_headers, timeout)

    async def call() -> Response:
        return await client.post("/responses", cast_to=Response, body=body, options=options)

    return await _attempt(call, retry)


async def open_stream(
    client: openai.AsyncOpenAI,
    body: Mapping[str, Any],
    *,
    extra_headers: Mapping[str, str] | None = None,
    timeout: RequestTimeout | None = None,  # noqa: ASYNC109 - the SDK's per-request HTTP timeout
    retry: RetryPolicy | None = None,
) -> AsyncStream[ResponseStreamEvent]:
    """Start streaming a response; `retry` covers opening the stream, before any event arrives.

    Close the returned stream (`async with`, or `await stream.close()`) if not read to the end.
    """
    options = _request_options(extra_headers, timeout)
    streaming_body = {**body, "stream": True}

    async def call() -> AsyncStream[ResponseStreamEvent]:
        return await client.post(
            "/responses",
            cast_to=Response,
            body=streaming_body,
            options=options,
            stream=True,
            stream_cls=AsyncStream[ResponseStreamEvent],
        )

    return await _attempt(call, retry)


async def stream_response(
    client: openai.AsyncOpenAI,
    body: Mapping[str, Any],
    *,
    extra_headers: Mapping[str, str] | None = None,
    timeout: RequestTimeout | None = None,  # noqa: ASYNC109 - the SDK's per-request HTTP timeout
    retry: RetryPolicy | None = None,
) -> AsyncIterator[ResponseStreamEvent]:
    """Yield the typed events of a streamed response, closing the connection when done or abandoned."""
    stream = await open_stream(
        client, body, extra_headers=extra_headers, timeout=timeout, retry=retry
    )
    async with stream:
        async for event in stream:
            yield event


def _request_options(
    extra_headers: Mapping[str, str] | None, timeout: RequestTimeout | None
) -> openai.RequestOptions:
    """The SDK request options: bearer auth as `responses.create` uses, and no SDK retries."""
    options: openai.RequestOptions = {"max_retries": 0, "security": {"bearer_auth": True}}
    if extra_headers:
        options["headers"] = dict(extra_headers)
    if timeout is not None:
        options["timeout"] = timeout
    return options


async def _attempt(call: Callable[[], Awaitable[T]], retry: RetryPolicy | None) -> T:
    """One attempt, or as many as `retry` allows."""
    return await call() if retry is None else await with_retries(call, retry)
