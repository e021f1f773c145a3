"""create_response / stream_response over real HTTP against a scripted Starlette server."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseTextDeltaEvent,
)

from agentkit.model import RetryPolicy, create_response, open_stream, stream_response

from ._scripted import Reply, ScriptedServer, error_json, response_json, stream_events

BODY: dict[str, Any] = {
    "model": "gpt-test",
    "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
        {"type": "function_call", "call_id": "c1", "name": "add", "arguments": '{"a":1}'},
        {"type": "function_call_output", "call_id": "c1", "output": "2"},
    ],
    "store": False,
    "include": ["reasoning.encrypted_content"],
}

FAST = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05, jitter=0)


async def test_create_response_sends_the_body_verbatim_and_returns_a_typed_response(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(Reply(json=response_json("Hello there")))

    response = await create_response(client, BODY)

    assert isinstance(response, Response)
    assert response.output_text == "Hello there"
    assert response.usage is not None and response.usage.total_tokens == 19
    [request] = server.received
    assert (request.method, request.path) == ("POST", "/v1/responses")
    assert request.json() == BODY
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.headers["content-type"] == "application/json"


async def test_create_response_bypasses_the_sdk_param_transform(
    server: ScriptedServer, client: openai.AsyncOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openai.resources.responses.responses as sdk_responses

    async def forbidden(*args: object, **kwargs: object) -> object:
        raise AssertionError("the SDK transform ran")

    monkeypatch.setattr(sdk_responses, "async_maybe_transform", forbidden)
    server.script(Reply(json=response_json()))

    assert (await create_response(client, BODY)).output_text == "Hello"
    with pytest.raises(AssertionError, match="the SDK transform ran"):
        await client.responses.create(model="gpt-test", input="Hi")


async def test_extra_headers_reach_the_server(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(Reply(json=response_json()))
    headers = {"x-ms-oai-image-generation-deployment": "gpt-image-1"}

    await create_response(client, BODY, extra_headers=headers)

    assert server.received[0].headers["x-ms-oai-image-generation-deployment"] == "gpt-image-1"


async def test_timeout_applies_per_request(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(Reply(json=response_json(), delay=0.5))

    with pytest.raises(openai.APITimeoutError):
        await create_response(client, BODY, timeout=0.05)

    assert len(server.received) == 1


async def test_azure_only_fields_parse(server: ScriptedServer, client: openai.AsyncOpenAI) -> None:
    body = {**response_json(), "content_filters": [{"blocked": False, "source_type": "prompt"}]}
    server.script(Reply(json=body))

    response = await create_response(client, BODY)

    assert response.output_text == "Hello"


async def test_errors_are_the_sdk_error_types(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(Reply(status=400, json=error_json("bad input", code="invalid_value")))

    with pytest.raises(openai.BadRequestError) as caught:
        await create_response(client, BODY)

    assert caught.value.code == "invalid_value"
    assert len(server.received) == 1


async def test_retry_policy_covers_create(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(Reply(status=503, json=error_json("busy")), Reply(json=response_json("ok")))

    response = await create_response(client, BODY, retry=FAST)

    assert response.output_text == "ok"
    assert len(server.received) == 2


async def test_stream_response_yields_typed_events(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(Reply(events=stream_events("Hi!")))

    events = [event async for event in stream_response(client, BODY)]

    assert [type(e) for e in events] == [
        ResponseCreatedEvent,
        ResponseTextDeltaEvent,
        ResponseCompletedEvent,
    ]
    assert isinstance(events[1], ResponseTextDeltaEvent) and events[1].delta == "Hi!"
    assert isinstance(events[2], ResponseCompletedEvent)
    assert events[2].response.output_text == "Hi!"
    [request] = server.received
    assert request.json() == {**BODY, "stream": True}
    assert "stream" not in BODY


async def test_stream_retries_opening(server: ScriptedServer, client: openai.AsyncOpenAI) -> None:
    server.script(
        Reply(status=429, json=error_json("slow down"), headers={"retry-after-ms": "10"}),
        Reply(events=stream_events()),
    )

    events = [event async for event in stream_response(client, BODY, retry=FAST)]

    assert [e.type for e in events] == [
        "response.created",
        "response.output_text.delta",
        "response.completed",
    ]
    assert len(server.received) == 2


async def test_open_stream_can_be_abandoned(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(Reply(events=stream_events()), Reply(json=response_json("after")))

    async with await open_stream(client, BODY) as stream:
        first = await stream.__anext__()
    assert first.type == "response.created"

    assert (await create_response(client, BODY)).output_text == "after"


async def test_stream_error_status_raises_before_any_event(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(Reply(status=401, json=error_json("bad key", code="invalid_api_key")))

    with pytest.raises(openai.AuthenticationError):
        async for _ in stream_response(client, BODY):
            pytest.fail("no event expected")

    assert len(server.received) == 1
    assert json.loads(server.received[0].body)["stream"] is True
