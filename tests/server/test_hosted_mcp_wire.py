"""The hosted `mcp` tool on the wire: event sequences and key sets as the real captures have
them, every body and event valid against OpenAI's spec (strictly) and the SDK's types, and MCP
credentials nowhere: not in the response, the stream, the request log, nor the database file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hosted_mcp_servers import BEARER, SECRET, ToolServer, capture, mcp_tool, reference_validator
from openai import OpenAI
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import BaseModel, TypeAdapter

from agentkit.server import LocalServer
from agentkit.server.plan import Hosted, Say, Think

Body = dict[str, Any]
STREAM_EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
OTHER_SECRET = "x-api-key-value-42"


@pytest.fixture(scope="module")
def tools() -> Iterator[ToolServer]:
    with ToolServer() as running:
        yield running


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    db = tmp_path_factory.mktemp("db") / "responses.db"
    with LocalServer(db=str(db), engine="scripted") as running:
        yield running


@pytest.fixture(autouse=True)
def empty_queue(local: LocalServer) -> None:
    local.scripted.clear()


@pytest.fixture(scope="module")
def http(local: LocalServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=local.base_url, timeout=30) as opened:
        yield opened


@pytest.fixture(scope="module")
def client(local: LocalServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=local.base_url, api_key="k", max_retries=0) as opened:
        yield opened


@pytest.fixture(scope="module")
def spec() -> Any:
    return reference_validator()


def secret_tool(url: str, **options: Any) -> Body:
    return mcp_tool(
        url,
        headers={"Authorization": BEARER, "X-Api-Key": OTHER_SECRET},
        server_description="Test tools",
        **options,
    )


def call(name: str, arguments: str) -> Hosted:
    return Hosted("mcp", name, arguments, {"server_label": "tools"})


def stream(http: httpx2.Client, body: Body) -> tuple[str, list[Body]]:
    """The raw SSE text of a streamed response, and its events."""
    response = http.post("/responses", json={**body, "stream": True})
    assert response.status_code == 200, response.text
    text = response.text
    events = [json.loads(f.split("\ndata: ", 1)[1]) for f in text.split("\n\n") if f]
    return text, events


def shape(events: list[Body]) -> list[tuple[str, ...]]:
    """Each event's type, the output item's type where it has one, and its keys."""
    found = []
    for event in events:
        item = event.get("item")
        kind = (item or {}).get("type", "")
        found.append((event["type"], kind, *sorted(event)))
    return found


def recorded(name: str) -> list[Body]:
    lines = capture(name).read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def between(events: list[Body], index: int) -> list[Body]:
    """The events of output item `index`."""
    return [e for e in events if e.get("output_index") == index]


# --- event sequences, as the service sends them ---------------------------------------------------


def test_a_listed_and_called_tool_streams_as_the_capture_does(
    local: LocalServer, http: httpx2.Client, tools: ToolServer
):
    local.scripted.queue([Think("call it"), call("get_weather", '{"city":"Paris"}')], Say("Sunny."))
    body = {
        "model": "o4-mini",
        "input": "weather",
        "tools": [mcp_tool(tools.url, require_approval="never")],
    }
    _, events = stream(http, body)
    ours = between(events, 0) + between(events, 2)
    theirs = recorded("openai-mcp-tool.1.chunks.txt")
    theirs = between(theirs, 0) + between(theirs, 2)
    assert shape(ours) == shape(theirs)
    assert [e["item"].keys() for e in ours if "item" in e] == [
        e["item"].keys() for e in theirs if "item" in e
    ]
    added = between(events, 2)[0]["item"]
    assert added["status"] == "in_progress"
    assert added["arguments"] == "" and added["output"] is None and added["error"] is None
    assert between(events, 2)[2]["delta"] == '{"city":"Paris"}'


def test_an_approval_request_streams_as_the_capture_does(
    local: LocalServer, http: httpx2.Client, tools: ToolServer
):
    local.scripted.queue([Think("ask"), call("shorten_link", '{"url":"https://a.b"}')])
    body = {"model": "o4-mini", "input": "shorten", "tools": [mcp_tool(tools.url)]}
    _, events = stream(http, body)
    theirs = recorded("openai-mcp-tool-approval.1.chunks.txt")
    assert shape(events[2:-1]) == shape(theirs[2:-1])
    assert [e["type"] for e in events] == [e["type"] for e in theirs]


def test_an_approved_call_streams_as_the_capture_does(
    local: LocalServer, http: httpx2.Client, client: OpenAI, tools: ToolServer
):
    tool = mcp_tool(tools.url, require_approval="always")
    local.scripted.queue(call("shorten_link", '{"url":"https://a.b"}'))
    first = client.responses.create(model="gpt-4o", input="shorten", tools=[tool])  # type: ignore[list-item]
    local.scripted.queue(Say("Done."))
    answer = {
        "type": "mcp_approval_response",
        "approval_request_id": first.output[1].id,
        "approve": True,
    }  # type: ignore[union-attr]
    # The listing is in the stored context, so the call is output 0 (1 in the capture, whose
    # client did not send the listing back).
    body = {"model": "gpt-4o", "input": [answer], "tools": [tool], "previous_response_id": first.id}
    _, events = stream(http, body)
    theirs = recorded("openai-mcp-tool-approval.4.chunks.txt")
    assert shape(between(events, 0)) == shape(between(theirs, 1))
    assert events[2]["item"]["approval_request_id"] == first.output[1].id  # type: ignore[union-attr]
    assert [e["type"] for e in between(events, 0)].count("response.mcp_call.in_progress") == 2


def test_a_failed_call_streams_mcp_call_failed(
    local: LocalServer, http: httpx2.Client, tools: ToolServer
):
    local.scripted.queue(call("explode", "{}"), Say("It failed."))
    body = {
        "model": "gpt-4o",
        "input": "go",
        "tools": [mcp_tool(tools.url, require_approval="never")],
    }
    _, events = stream(http, body)
    types = [e["type"] for e in between(events, 1)]
    assert types == [
        "response.output_item.added",
        "response.mcp_call.in_progress",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.failed",
        "response.output_item.done",
    ]
    assert between(events, 1)[-1]["item"]["status"] == "failed"


def test_without_obfuscation_deltas_carry_none(
    local: LocalServer, http: httpx2.Client, tools: ToolServer
):
    local.scripted.queue(call("get_weather", '{"city":"Oslo"}'), Say("ok"))
    body = {
        "model": "gpt-4o",
        "input": "go",
        "tools": [mcp_tool(tools.url, require_approval="never")],
        "stream_options": {"include_obfuscation": False},
    }
    _, events = stream(http, body)
    delta = next(e for e in events if e["type"] == "response.mcp_call_arguments.delta")
    assert "obfuscation" not in delta


# --- the spec and the SDK ---------------------------------------------------------------------------


def test_every_body_and_event_validates_and_parses(
    local: LocalServer, http: httpx2.Client, tools: ToolServer, spec: Any
):
    tool = secret_tool(
        tools.secure_url,
        require_approval={"never": {"tool_names": ["get_weather", "explode", "check_secret"]}},
    )
    local.scripted.queue(
        [Think("calls"), call("get_weather", '{"city":"Rome"}'), call("explode", "{}")],
        [Think("more"), call("check_secret", "{}"), call("shorten_link", '{"url":"https://a.b"}')],
    )
    text, events = stream(http, {"model": "o4-mini", "input": "go", "tools": [tool]})
    first = events[-1]["response"]
    assert [i["type"] for i in first["output"]] == [
        "mcp_list_tools", "reasoning", "mcp_call", "mcp_call", "reasoning", "mcp_call",
        "mcp_approval_request",
    ]  # fmt: skip
    request_id = first["output"][-1]["id"]
    local.scripted.queue(Say("Approved and done."))
    approved = {
        "model": "o4-mini",
        "previous_response_id": first["id"],
        "input": [
            {"type": "mcp_approval_response", "approval_request_id": request_id, "approve": True}
        ],
        "tools": [tool],
    }
    text2, events2 = stream(http, approved)

    for raw, parsed in ((text, events), (text2, events2)):
        errors, notes = spec.check_sse(raw)
        assert errors == []
        assert notes == []
        for event in parsed:
            model = STREAM_EVENT.validate_python(event)
            assert model.type == event["type"]
            assert _extras(model) <= {"obfuscation", *_response_extras(event)}, event["type"]
    for body in (first, events2[-1]["response"]):
        assert spec.errors("Response", body) == []
        assert Response.model_validate(body).output
    items = http.get(f"/responses/{events2[-1]['response']['id']}/input_items").json()
    assert spec.errors("ResponseItemList", items) == []
    assert items["data"][0]["type"] == "mcp_approval_response"


def _extras(model: Any) -> set[str]:
    """The names of fields the SDK's models kept as undeclared extras, anywhere inside."""
    found: set[str] = set()
    if isinstance(model, BaseModel):
        found |= set(model.model_extra or {})
        for name in type(model).model_fields:
            found |= _extras(getattr(model, name))
    elif isinstance(model, list):
        for entry in model:
            found |= _extras(entry)
    return found


def _response_extras(event: Body) -> set[str]:
    # Fields every response carries that the SDK does not declare (see test_spec.py).
    return {"store", "presence_penalty", "frequency_penalty"} if "response" in event else set()


def test_error_bodies_validate(http: httpx2.Client, spec: Any):
    tool = mcp_tool("http://127.0.0.1:9/mcp", require_approval="never")
    response = http.post("/responses", json={"model": "m", "input": "go", "tools": [tool]})
    assert response.status_code == 424
    assert spec.errors("ErrorResponse", response.json()) == []
    unknown = {"type": "mcp_approval_response", "approval_request_id": "mcpr_x", "approve": True}
    response = http.post("/responses", json={"model": "m", "input": [unknown]})
    assert response.status_code == 400
    assert spec.errors("ErrorResponse", response.json()) == []


def test_requests_with_mcp_items_validate_as_create_response(spec: Any, tools: ToolServer):
    request = {
        "model": "gpt-4o",
        "tools": [secret_tool(tools.url, allowed_tools={"tool_names": ["get_weather"]})],
        "input": [
            {"role": "user", "content": "hi"},
            {"type": "mcp_list_tools", "id": "mcpl_1", "server_label": "tools", "tools": []},
            {
                "type": "mcp_approval_request",
                "id": "mcpr_1",
                "server_label": "tools",
                "name": "get_weather",
                "arguments": "{}",
            },
            {"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": True},
        ],
    }
    assert spec.errors("CreateResponse", request) == []


# --- credentials ------------------------------------------------------------------------------------


def test_credentials_appear_nowhere(
    local: LocalServer, http: httpx2.Client, client: OpenAI, tools: ToolServer
):
    local.state.requests.clear()
    tool = secret_tool(tools.secure_url, require_approval="never", authorization="oauth-token-77")
    local.scripted.queue(call("check_secret", "{}"), Say("checked"))
    response = client.responses.create(model="gpt-4o", input="go", tools=[tool])  # type: ignore[list-item]
    assert response.output[1].output == "authorized"  # type: ignore[union-attr]
    local.scripted.queue(Say("streamed"))
    streamed, _ = stream(
        http,
        {"model": "gpt-4o", "input": "again", "tools": [tool], "previous_response_id": response.id},
    )
    local.scripted.queue(Say("not stored"))
    unstored = client.responses.create(model="gpt-4o", input="hi", tools=[tool], store=False)  # type: ignore[list-item]

    secrets = (SECRET, OTHER_SECRET, "oauth-token-77")
    places = {
        "body": response.to_json(),
        "stream": streamed,
        "unstored": unstored.to_json(),
        "retrieved": http.get(f"/responses/{response.id}").text,
        "input items": http.get(f"/responses/{response.id}/input_items").text,
        "request log": json.dumps(local.requests),
        "database": _database_bytes(local),
    }
    for where, text in places.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} found in the {where}"
    assert '"headers":null' in places["retrieved"].replace(" ", "")
    assert tools.authorizations[-1] == BEARER  # and yet it reached the MCP server


def _database_bytes(local: LocalServer) -> str:
    path = Path(local.config.db)
    files = [path, *path.parent.glob(path.name + "-*")]  # the WAL holds recent writes
    return b"".join(f.read_bytes() for f in files if f.exists()).decode("latin-1")
