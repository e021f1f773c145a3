"""WebSocket mode for `/responses` (Open Responses spec: `x-openresponses-websocket`,
`WebSocketResponseCreateEvent`, `WebSocketErrorEvent`; the `openai` SDK's
`client.responses.connect()`), over real sockets.

The same behaviours the Open Responses compliance suite's WebSocket tests check: a response's
events (validated against both specs), several turns on one connection, continuing a
`store: false` response on its connection with only new input, `previous_response_not_found` on
another connection or for an unknown id, a failed continuation forgetting what it continued,
`generate: false`, and a compacted window starting a new chain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from openai import AsyncOpenAI
from reference import reference_path, spec_errors
from test_spec import jsonl_as_sse, load_validate
from websockets.sync.client import ClientConnection, connect

from agentkit.server import LocalServer

TERMINAL = ("response.completed", "response.failed", "response.incomplete", "error")


@pytest.fixture(scope="module")
def local() -> Iterator[LocalServer]:
    with LocalServer(api_key="ws-key") as running:
        yield running


@pytest.fixture(scope="module")
def specs() -> tuple[Any, Any]:
    validate = load_validate()
    return (
        validate.SpecValidator(reference_path("openai-openapi.json")),
        validate.SpecValidator(reference_path("openresponses-openapi.json")),
    )


def socket(local: LocalServer, prefix: str = "/v1") -> ClientConnection:
    url = local.url.replace("http://", "ws://") + prefix + "/responses"
    return connect(url, additional_headers={"Authorization": "Bearer ws-key"})


def turn(ws: ClientConnection, **body: Any) -> list[dict[str, Any]]:
    """Send one `response.create`; the events up to its terminal one."""
    ws.send(json.dumps({"type": "response.create", "model": "gpt-4.1", **body}))
    events = []
    while True:
        events.append(json.loads(ws.recv(timeout=10)))
        if events[-1]["type"] in TERMINAL:
            return events


def final(events: list[dict[str, Any]]) -> dict[str, Any]:
    response: dict[str, Any] = events[-1]["response"]
    return response


@pytest.mark.parametrize("prefix", ["/v1", "/openai/v1"])
def test_a_turn_streams_events_that_validate(
    local: LocalServer, specs: tuple[Any, Any], prefix: str
) -> None:
    with socket(local, prefix) as ws:
        events = turn(ws, input=[{"type": "message", "role": "user", "content": "Count to 3."}])
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert final(events)["status"] == "completed"
    sse = jsonl_as_sse([json.dumps(e) for e in events])
    for spec in specs:
        errors, notes = spec.check_sse(sse)
        assert (spec_errors(errors), notes) == ([], [])
    assert specs[1].errors("ResponseResource", final(events)) == []


def test_turns_follow_each_other_on_one_connection(local: LocalServer) -> None:
    with socket(local) as ws:
        first = turn(ws, store=False, input="Reply with exactly: first")
        second = turn(ws, store=False, input="Reply with exactly: second")
    assert final(first)["output"][0]["content"][0]["text"].startswith('You said: "Reply')
    assert final(second)["id"] != final(first)["id"]


def test_store_false_continues_on_its_connection_only(local: LocalServer) -> None:
    with socket(local) as ws:
        first = final(turn(ws, store=False, input="Remember the code word: cobalt."))
        second = turn(ws, store=False, previous_response_id=first["id"], input="The code word?")
    assert final(second)["previous_response_id"] == first["id"]
    assert "Remember the code word: cobalt." in final(second)["output"][0]["content"][0]["text"]
    with socket(local) as other:
        [error] = turn(other, store=False, previous_response_id=first["id"], input="Again?")
    assert error == {
        "type": "error",
        "status": 400,
        "error": {
            "message": f"Previous response with id '{first['id']}' not found.",
            "type": "invalid_request_error",
            "param": "previous_response_id",
            "code": "previous_response_not_found",
        },
    }


def test_a_failed_continuation_forgets_what_it_continued(
    local: LocalServer, specs: tuple[Any, Any]
) -> None:
    with socket(local) as ws:
        first = final(turn(ws, store=False, input="Remember: ember."))
        dangling = [{"type": "function_call_output", "call_id": "call_x", "output": "?"}]
        [failed] = turn(ws, store=False, previous_response_id=first["id"], input=dangling)
        [retry] = turn(ws, store=False, previous_response_id=first["id"], input="stale?")
    assert failed["error"]["message"] == (
        "No tool call found for function call output with call_id call_x."
    )
    assert specs[1].errors("WebSocketErrorEvent", failed) == []
    assert retry["error"]["code"] == "previous_response_not_found"


def test_generate_false_prepares_a_turn_without_output(
    local: LocalServer, specs: tuple[Any, Any]
) -> None:
    with socket(local) as ws:
        warm = turn(ws, store=False, generate=False, input="Prepare: warmed")
        answered = turn(ws, store=False, previous_response_id=final(warm)["id"], input="Go")
    assert [e["type"] for e in warm] == [
        "response.created",
        "response.in_progress",
        "response.completed",
    ]
    assert final(warm)["output"] == []
    assert specs[1].errors("ResponseResource", final(warm)) == []
    assert "Prepare: warmed" in final(answered)["output"][0]["content"][0]["text"]


def test_http_only_fields_and_other_messages_are_errors(local: LocalServer) -> None:
    with socket(local) as ws:
        [stream] = turn(ws, input="x", stream=True)
        ws.send(json.dumps({"type": "session.update"}))
        wrong = json.loads(ws.recv(timeout=10))
        still = turn(ws, input="still open")
    assert (stream["status"], stream["error"]["param"]) == (400, "stream")
    assert wrong["error"]["param"] == "type"
    assert final(still)["status"] == "completed"


def test_a_wrong_key_is_an_error_event_and_a_close(local: LocalServer) -> None:
    url = local.url.replace("http://", "ws://") + "/v1/responses"
    with connect(url, additional_headers={"api-key": "nope"}) as ws:
        error = json.loads(ws.recv(timeout=10))
    assert (error["status"], error["error"]["code"]) == (401, "invalid_api_key")


def test_a_compacted_window_starts_a_new_chain(local: LocalServer) -> None:
    with httpx2.Client(base_url=local.base_url, headers={"api-key": "ws-key"}) as http:
        compacted = http.post(
            "/responses/compact",
            json={
                "model": "gpt-4.1",
                "input": [
                    {"type": "message", "role": "user", "content": "Code word: slate."},
                    {"type": "message", "role": "assistant", "content": "OK."},
                ],
            },
        ).json()
    with socket(local) as ws:
        events = turn(
            ws,
            store=False,
            tools=[],
            input=[*compacted["output"], {"type": "message", "role": "user", "content": "Go on"}],
        )
    assert final(events)["status"] == "completed"


async def test_the_sdk_connects(local: LocalServer) -> None:
    client = AsyncOpenAI(base_url=local.base_url, api_key="ws-key", max_retries=0)
    types = []
    async with client.responses.connect() as connection:
        await connection.response.create(model="gpt-4.1", input="Hello over a socket", store=False)
        async for event in connection:
            types.append(event.type)
            if event.type == "response.completed":
                assert event.response.output_text == 'You said: "Hello over a socket".'
                break
    await client.close()
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"


def test_the_upgrade_is_not_a_405(local: LocalServer) -> None:
    with httpx2.Client(base_url=local.base_url) as http:
        plain = http.get("/responses", headers={"api-key": "ws-key"})
    # A plain GET is still not a route; only the upgrade is.
    assert plain.status_code in (404, 405)
    with socket(local) as ws:
        assert turn(ws, input="hi")[-1]["type"] == "response.completed"
