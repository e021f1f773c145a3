"""Spec conformance: every body and event the server sends validates against the published specs.

For a matrix of requests, the non-streamed body must parse into the SDK's `Response` (with no
field the SDK does not know, except the ones listed in `RESPONSE_EXTRAS`) and validate, strictly
(no `--lenient`), against OpenAI's spec (`Response`) and the Open Responses spec
(`ResponseResource`) with `../shared/reference/validate.py`. The streamed events, read as raw SSE
bytes, must validate with the same checker (`--sse`) and parse with the SDK's
`ResponseStreamEvent`; the events as the SDK parsed them must validate as `--events-jsonl`.
Input-item lists, the delete body and error bodies are checked too.

Tests skip when `../shared/reference` is absent.
"""

from __future__ import annotations

import importlib.util
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import httpx2
import pytest
from local_clients import TIME, WEATHER
from openai import OpenAI
from openai.types.responses import Response, ResponseItemList, ResponseStreamEvent
from pydantic import BaseModel, TypeAdapter
from reference import reference_path, spec_errors

from agentkit.server import LocalServer
from agentkit.server.plan import Abort, Hold, Say, Wait

# --- helpers -----------------------------------------------------------------------------------


Body = dict[str, Any]
STREAM_EVENT = TypeAdapter(ResponseStreamEvent)

# Response fields the SDK's model does not declare: `store` is on every real response (see the
# captures); the Open Responses spec requires `presence_penalty` and `frequency_penalty`.
RESPONSE_EXTRAS = {"store", "presence_penalty", "frequency_penalty"}
# Event fields the SDK does not declare: the service's `obfuscation` padding on deltas.
EVENT_EXTRAS = {
    "response.output_text.delta": {"obfuscation"},
    "response.function_call_arguments.delta": {"obfuscation"},
    "response.reasoning_summary_text.delta": {"obfuscation"},
}
# Where the Open Responses spec contradicts OpenAI's for an echoed json_schema text format: it
# requires `description` (OpenAI's spec types it as a non-null string, so it cannot be sent as
# null when the request had none) and types `schema` as null (OpenAI's requires the object).
# No body can satisfy both; the server follows OpenAI's spec and the real service.
OPENRESPONSES_JSON_SCHEMA_DEFECTS = {
    "text/format: 'description' is a required property",
    "text/format/schema: {} is not of type 'null'",
}
_SCHEMA_VALUE = re.compile(r"(text/format/schema: )\{.*\}( is not of type 'null')")


def load_validate() -> ModuleType:
    """`../shared/reference/validate.py` as a module (skips when the reference is absent)."""
    path = reference_path("validate.py")
    spec = importlib.util.spec_from_file_location("reference_validate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sdk_extras(value: Any, path: str = "") -> set[str]:
    """Paths of every field the SDK's models kept as an undeclared extra."""
    found: set[str] = set()
    if isinstance(value, BaseModel):
        found |= {f"{path}{name}" for name in value.model_extra or {}}
        for name in type(value).model_fields:
            found |= sdk_extras(getattr(value, name), f"{path}{name}.")
    elif isinstance(value, list):
        for entry in value:
            found |= sdk_extras(entry, f"{path}[].")
    return found


def sse_events(raw: bytes) -> list[Body]:
    """The JSON events of a raw SSE stream."""
    return [json.loads(frame.split(b"\ndata: ", 1)[1]) for frame in raw.split(b"\n\n") if frame]


def jsonl_as_sse(lines: list[str]) -> str:
    """Event JSON lines framed as SSE, exactly as validate.py's `--events-jsonl` does."""
    return "".join(f"event: {json.loads(line)['type']}\ndata: {line}\n\n" for line in lines)


def text_format_defects(messages: list[str]) -> set[str]:
    """Errors about `text/format`, from where that path starts, with the schema value elided."""
    return {
        _SCHEMA_VALUE.sub(r"\1{}\2", m[m.find("text/format") :] if "text/format" in m else m)
        for m in messages
    }


# --- the request matrix ------------------------------------------------------------------------

PERSON = {
    "type": "json_schema",
    "name": "person",
    "strict": True,
    "schema": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    },
}


@dataclass(frozen=True)
class Case:
    """One request of the matrix: how to build it (it may create earlier turns) and its result."""

    name: str
    build: Callable[[httpx2.Client], Body]
    output: list[str]
    status: str = "completed"
    check: Callable[[Body], None] = field(default=lambda body: None)


def _post(http: httpx2.Client, body: Body) -> Body:
    response = http.post("/responses", json=body)
    assert response.status_code == 200, response.text
    result: Body = response.json()
    return result


def _chained(http: httpx2.Client) -> Body:
    first = _post(http, {"model": "gpt-4.1", "input": "Remember the number 42."})
    return {"model": "gpt-4.1", "previous_response_id": first["id"], "input": "What was it?"}


def _tool_outputs(http: httpx2.Client) -> Body:
    first = _post(http, PARALLEL)
    outputs = [
        {"type": "function_call_output", "call_id": item["call_id"], "output": '{"ok": true}'}
        for item in first["output"]
    ]
    return {
        "model": "gpt-4.1",
        "previous_response_id": first["id"],
        "tools": [WEATHER, TIME],
        "input": outputs,
    }


def _is_person(body: Body) -> None:
    assert json.loads(body["output"][0]["content"][0]["text"]) == {"name": "Alice", "age": 30}
    assert body["text"]["format"] == PERSON


def _is_sealed_reasoning(body: Body) -> None:
    reasoning = body["output"][0]
    assert reasoning["encrypted_content"].startswith("gAAAAA")
    assert [part["type"] for part in reasoning["summary"]] == ["summary_text"]
    assert body["reasoning"] == {"effort": "medium", "summary": "auto"}
    assert body["store"] is False


def _is_cut(body: Body) -> None:
    assert body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert body["output"][0]["status"] == "incomplete"
    assert body["completed_at"] is None


OPTIONS = {
    "temperature": 0.2,
    "top_p": 0.5,
    "top_logprobs": 2,
    "truncation": "auto",
    "service_tier": "flex",
    "user": "user-1",
    "safety_identifier": "hashed-user-1",
    "prompt_cache_key": "cache-1",
}
PARALLEL = {
    "model": "gpt-4.1",
    "input": "What's the weather and the time in Paris?",
    "tools": [WEATHER, TIME],
}
CASES = [
    Case("text", lambda http: {"model": "gpt-4.1", "input": "Hello there"}, ["message"]),
    Case(
        "instructions",
        lambda http: {"model": "gpt-4.1", "input": "Hello", "instructions": "Answer briefly."},
        ["message"],
        check=lambda body: _equal(body["instructions"], "Answer briefly."),
    ),
    Case(
        "chained",
        _chained,
        ["message"],
        check=lambda body: _equal(body["previous_response_id"][:5], "resp_"),
    ),
    Case(
        "function_call",
        lambda http: {"model": "gpt-4.1", "input": "Weather in Paris?", "tools": [WEATHER]},
        ["function_call"],
        check=lambda body: _equal(json.loads(body["output"][0]["arguments"]), {"city": "Paris"}),
    ),
    Case("parallel_function_calls", lambda http: PARALLEL, ["function_call", "function_call"]),
    Case("tool_outputs", _tool_outputs, ["message"]),
    Case(
        "structured_output",
        lambda http: {"model": "gpt-4.1", "input": "Meet Alice, 30.", "text": {"format": PERSON}},
        ["message"],
        check=_is_person,
    ),
    Case(
        "reasoning",
        lambda http: {
            "model": "o4-mini",
            "input": "Why is the sky blue?",
            "reasoning": {"summary": "auto"},
            "include": ["reasoning.encrypted_content"],
            "store": False,
        },
        ["reasoning", "message"],
        check=_is_sealed_reasoning,
    ),
    Case(
        "incomplete",
        lambda http: {"model": "gpt-4.1", "input": "word " * 100, "max_output_tokens": 16},
        ["message"],
        status="incomplete",
        check=_is_cut,
    ),
    Case(
        "metadata",
        lambda http: {"model": "gpt-4.1", "input": "Hi", "metadata": {"ticket": "AK-1", "k": "v"}},
        ["message"],
        check=lambda body: _equal(body["metadata"], {"ticket": "AK-1", "k": "v"}),
    ),
    Case(
        "forced_tool_choice",
        lambda http: {
            "model": "gpt-4.1",
            "input": "Hi",
            "tools": [WEATHER, TIME],
            "tool_choice": {"type": "function", "name": "get_time"},
            "parallel_tool_calls": False,
        },
        ["function_call"],
        check=lambda body: _equal(body["output"][0]["name"], "get_time"),
    ),
    Case(
        "json_object",
        lambda http: {
            "model": "gpt-4.1",
            "input": "Hi",
            "text": {"format": {"type": "json_object"}},
        },
        ["message"],
        check=lambda body: _equal(
            json.loads(body["output"][0]["content"][0]["text"]), {"answer": "Hi"}
        ),
    ),
    Case(
        "sampling_and_routing_options",
        lambda http: {"model": "gpt-4.1", "input": "Hi", **OPTIONS},
        ["message"],
        check=lambda body: _equal({k: body[k] for k in OPTIONS}, OPTIONS),
    ),
    Case(
        "reasoning_without_summary",
        lambda http: {"model": "o3", "input": "Hi", "reasoning": {"effort": "high"}},
        ["reasoning", "message"],
        check=lambda body: _equal(body["output"][0]["summary"], []),
    ),
]


def _equal(actual: Any, expected: Any) -> None:
    assert actual == expected


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validate() -> ModuleType:
    return load_validate()


@pytest.fixture(scope="module")
def openai_spec(validate: ModuleType) -> Any:
    return validate.SpecValidator(reference_path("openai-openapi.json"))


@pytest.fixture(scope="module")
def openresponses_spec(validate: ModuleType) -> Any:
    return validate.SpecValidator(reference_path("openresponses-openapi.json"))


@pytest.fixture(scope="module")
def http(server: LocalServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.base_url, timeout=10) as client:
        yield client


@pytest.fixture(params=CASES, ids=[case.name for case in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    chosen: Case = request.param
    return chosen


def create(http: httpx2.Client, case: Case) -> Body:
    return _post(http, case.build(http))


def stream_raw(http: httpx2.Client, case: Case) -> bytes:
    with http.stream("POST", "/responses", json={**case.build(http), "stream": True}) as response:
        assert response.status_code == 200
        return response.read()


# --- non-streamed bodies -----------------------------------------------------------------------


def test_body_has_the_expected_status_and_output(http: httpx2.Client, case: Case):
    body = create(http, case)
    assert body["status"] == case.status
    assert [item["type"] for item in body["output"]] == case.output
    case.check(body)


def test_body_parses_into_the_sdk_response(http: httpx2.Client, case: Case):
    parsed = Response.model_validate(create(http, case))
    assert parsed.status == case.status
    assert [item.type for item in parsed.output] == case.output
    assert sdk_extras(parsed) == RESPONSE_EXTRAS


def test_body_validates_against_openai_spec(http: httpx2.Client, case: Case, openai_spec: Any):
    assert openai_spec.errors("Response", create(http, case)) == []


def test_body_validates_against_openresponses_spec(
    http: httpx2.Client, case: Case, openresponses_spec: Any
):
    errors = openresponses_spec.errors("ResponseResource", create(http, case))
    if case.name == "structured_output":
        assert text_format_defects(errors) == OPENRESPONSES_JSON_SCHEMA_DEFECTS
    else:
        assert errors == []


def test_retrieved_body_validates_against_openai_spec(http: httpx2.Client, openai_spec: Any):
    created = create(http, CASES[0])
    retrieved = http.get(f"/responses/{created['id']}").json()
    assert retrieved == created
    assert openai_spec.errors("Response", retrieved) == []


# --- streamed events ---------------------------------------------------------------------------


def test_stream_validates_as_sse_against_openai_spec(
    http: httpx2.Client, case: Case, openai_spec: Any
):
    errors, notes = openai_spec.check_sse(stream_raw(http, case).decode())
    assert spec_errors(errors) == []
    assert notes == []


def test_stream_validates_as_sse_against_openresponses_spec(
    http: httpx2.Client, case: Case, openresponses_spec: Any
):
    errors, notes = openresponses_spec.check_sse(stream_raw(http, case).decode())
    assert notes == []
    if case.name == "structured_output":
        assert text_format_defects(errors) == OPENRESPONSES_JSON_SCHEMA_DEFECTS
    else:
        assert spec_errors(errors) == []


def test_each_event_parses_with_the_sdk_event_type(http: httpx2.Client, case: Case):
    for event in sse_events(stream_raw(http, case)):
        parsed = STREAM_EVENT.validate_python(event)
        assert parsed.type == event["type"]
        expected = EVENT_EXTRAS.get(event["type"], set())
        if "response" in event:
            expected = {f"response.{name}" for name in RESPONSE_EXTRAS}
        assert sdk_extras(parsed) == expected, event["type"]


def test_events_parsed_by_the_sdk_validate_as_events_jsonl(
    client: OpenAI, http: httpx2.Client, case: Case, openai_spec: Any
):
    with client.responses.create(**case.build(http), stream=True) as stream:
        lines = [event.to_json(indent=None) for event in stream]

    errors, notes = openai_spec.check_sse(jsonl_as_sse(lines))

    assert spec_errors(errors) == []
    assert notes == []


# --- other endpoints ---------------------------------------------------------------------------


def _mixed_input(http: httpx2.Client) -> Body:
    return {
        "model": "gpt-4.1",
        "input": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {"type": "input_image", "image_url": "https://example.com/cat.png"},
                ],
            },
            {"role": "assistant", "content": "A cat."},
            {"role": "user", "content": "Sure?"},
        ],
    }


ITEM_LISTS = {
    "text": (CASES[0].build, ["message"]),
    "mixed_roles_and_image": (_mixed_input, ["message"] * 4),
    # Chained: the list holds the whole chain's items, newest first.
    "tool_outputs": (
        _tool_outputs,
        ["function_call_output"] * 2 + ["function_call"] * 2 + ["message"],
    ),
}


@pytest.mark.parametrize("name", list(ITEM_LISTS))
def test_input_items_list_validates_and_parses(http: httpx2.Client, openai_spec: Any, name: str):
    build, types = ITEM_LISTS[name]
    created = _post(http, build(http))

    page = http.get(f"/responses/{created['id']}/input_items").json()

    assert openai_spec.errors("ResponseItemList", page) == []
    assert [item["type"] for item in page["data"]] == types
    assert (page["first_id"], page["last_id"]) == (page["data"][0]["id"], page["data"][-1]["id"])
    assert sdk_extras(ResponseItemList.model_validate(page)) == set()


def test_delete_body_has_the_shape_of_the_spec_example(http: httpx2.Client):
    examples = json.loads(reference_path("captures", "openai-spec-examples.json").read_text())
    example = json.loads(examples["DELETE /responses/{response_id}"]["response"])
    created = create(http, CASES[0])

    deleted = http.delete(f"/responses/{created['id']}")

    assert deleted.status_code == 200
    assert deleted.headers["content-type"] == "application/json"
    assert deleted.json() == {**example, "id": created["id"]}


ERRORS: dict[str, tuple[str, str, Any, int, str | None]] = {
    # name: (method, path, JSON body, status, code)
    "unknown_response": ("GET", "/responses/resp_missing", None, 404, None),
    "delete_unknown_response": ("DELETE", "/responses/resp_missing", None, 404, None),
    "previous_response_not_found": (
        "POST",
        "/responses",
        {"model": "gpt-4.1", "input": "hi", "previous_response_id": "resp_missing"},
        400,
        "previous_response_not_found",
    ),
    "unknown_parameter": (
        "POST",
        "/responses",
        {"model": "gpt-4.1", "input": "hi", "colour": "red"},
        400,
        "unknown_parameter",
    ),
    "missing_model": ("POST", "/responses", {"input": "hi"}, 400, "missing_required_parameter"),
    "orphan_tool_output": (
        "POST",
        "/responses",
        {
            "model": "gpt-4.1",
            "input": [{"type": "function_call_output", "call_id": "call_x", "output": "1"}],
        },
        400,
        None,
    ),
    "background_without_store": (
        "POST",
        "/responses",
        {"model": "gpt-4.1", "input": "hi", "background": True, "store": False},
        400,
        None,
    ),
    "stream_of_unknown_response": ("GET", "/responses/resp_x?stream=true", None, 404, None),
    "input_items_of_unknown_response": ("GET", "/responses/resp_x/input_items", None, 404, None),
    "unknown_route": ("GET", "/nothing-here", None, 404, None),
    "wrong_method": ("PUT", "/responses", None, 405, None),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_error_body_validates_against_openai_spec(http: httpx2.Client, openai_spec: Any, name: str):
    method, path, body, status, code = ERRORS[name]

    response = http.request(method, path, json=body)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    error = response.json()
    assert openai_spec.errors("ErrorResponse", error) == []
    assert list(error) == ["error"]
    assert list(error["error"]) == ["message", "type", "param", "code"]
    assert error["error"]["code"] == code
    assert error["error"]["type"] == "invalid_request_error"


def test_invalid_json_body_is_an_error_response(http: httpx2.Client, openai_spec: Any):
    response = http.post(
        "/responses", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert openai_spec.errors("ErrorResponse", response.json()) == []


def test_input_items_pages_through_the_sdk_cursor(client: OpenAI, http: httpx2.Client):
    created = _post(http, _mixed_input(http))
    listed = http.get(f"/responses/{created['id']}/input_items").json()["data"]

    paged = list(client.responses.input_items.list(created["id"], limit=1))

    assert [item.id for item in paged] == [item["id"] for item in listed]
    assert len({item.id for item in paged}) == 4


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/responses"), ("GET", "/responses/resp_missing"), ("GET", "/nothing-here")],
)
def test_every_answer_carries_a_request_id(http: httpx2.Client, method: str, path: str):
    body = {"model": "gpt-4.1", "input": "hi"} if method == "POST" else None
    first = http.request(method, path, json=body)
    second = http.request(method, path, json=body)

    assert first.headers["x-request-id"].startswith("req_")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_sdk_exposes_the_request_id(client: OpenAI):
    response = client.responses.create(model="gpt-4.1", input="hi")
    assert response._request_id is not None
    assert response._request_id.startswith("req_")


# --- background, cancel, resume, failures ------------------------------------------------------


@pytest.fixture
def scripted_http(scripted: LocalServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=scripted.base_url, timeout=30) as client:
        yield client


def _wait_for(http: httpx2.Client, response_id: str, status: str) -> Body:
    for _ in range(500):
        body: Body = http.get(f"/responses/{response_id}").json()
        if body["status"] == status:
            return body
        time.sleep(0.02)
    raise AssertionError(f"{response_id} never became {status}")


def test_background_bodies_of_every_status_validate(
    scripted: LocalServer, scripted_http: httpx2.Client, openai_spec: Any
):
    scripted.scripted.queue([Hold(0.5), Say("Partial."), Wait(60)], [Abort("Broke.")])
    queued = _post(scripted_http, {"model": "gpt-4o", "input": "Hi", "background": True})
    running = _wait_for(scripted_http, queued["id"], "in_progress")
    cancelled = scripted_http.post(f"/responses/{queued['id']}/cancel").json()
    failed_id = _post(scripted_http, {"model": "gpt-4o", "input": "Hi", "background": True})["id"]
    failed = _wait_for(scripted_http, failed_id, "failed")

    for body, status in ((queued, "queued"), (running, "in_progress"), (cancelled, "cancelled")):
        assert body["status"] == status
        assert openai_spec.errors("Response", body) == []
        assert sdk_extras(Response.model_validate(body)) == RESPONSE_EXTRAS
    assert failed["error"] == {"code": "server_error", "message": "Broke."}
    assert openai_spec.errors("Response", failed) == []


LONG_STREAMS = {
    "background": ([Say("Streamed in the background.")], {"background": True}),
    "mid_stream_error": ([Say("Partial."), Abort("Broke.")], {}),
    "background_error": ([Say("Partial."), Abort("Broke.")], {"background": True}),
}


@pytest.mark.parametrize("name", list(LONG_STREAMS))
def test_long_running_streams_validate_and_parse(
    scripted: LocalServer, scripted_http: httpx2.Client, openai_spec: Any, name: str
):
    steps, options = LONG_STREAMS[name]
    scripted.scripted.queue(steps)
    body = {"model": "gpt-4o", "input": "Hi", "stream": True, **options}
    with scripted_http.stream("POST", "/responses", json=body) as response:
        raw = response.read()
    events = sse_events(raw)
    resumed = b""
    if options.get("background"):
        response_id = events[0]["response"]["id"]
        resumed = scripted_http.get(
            f"/responses/{response_id}", params={"stream": "true", "starting_after": "2"}
        ).content

    assert openai_spec.check_sse(raw.decode()) == ([], [])
    if resumed:
        errors, notes = openai_spec.check_sse(resumed.decode())
        assert errors == []
        assert notes == ["first event is 'response.output_item.added', expected response.created"]
    for event in events:
        parsed = STREAM_EVENT.validate_python(event)
        expected = EVENT_EXTRAS.get(event["type"], set())
        if "response" in event:
            expected = {f"response.{name}" for name in RESPONSE_EXTRAS}
        if event["type"] == "error":
            expected = {"error"}  # the live wire's nested copy, which the SDK raises from
        assert sdk_extras(parsed) == expected, event["type"]
    if resumed:
        assert sse_events(resumed) == events[3:]
