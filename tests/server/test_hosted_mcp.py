"""The hosted `mcp` tool: configuration, listing, calls and their failures, with real MCP servers.

Everything goes through the real `openai` client over HTTP to a `LocalServer`, which talks to
real MCP servers over streamable HTTP: the test tools (`hosted_mcp_servers.ToolServer`) and
`mcp-server-time` behind a stdio bridge.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from hosted_mcp_servers import BEARER, SECRET, TimeBridge, ToolServer, capture, mcp_tool
from openai import OpenAI
from secret_scan import database_text

from agentkit.server import LocalServer
from agentkit.server.hosted.mcp_client import Endpoint, MCPFailure, list_tools
from agentkit.server.plan import Hosted, Say


@pytest.fixture(scope="module")
def tools() -> Iterator[ToolServer]:
    with ToolServer() as running:
        yield running


@pytest.fixture(scope="module")
def local() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


@pytest.fixture(scope="module")
def client(local: LocalServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=local.base_url, api_key="k", max_retries=0) as opened:
        yield opened


@pytest.fixture
def scripted() -> Iterator[tuple[LocalServer, OpenAI]]:
    with (
        LocalServer(engine="scripted") as running,
        OpenAI(base_url=running.base_url, api_key="k", max_retries=0) as opened,
    ):
        yield running, opened


def raw(client: OpenAI, **request: Any) -> dict[str, Any]:
    """The response body exactly as the server sent it (key order included)."""
    body: dict[str, Any] = client.responses.with_raw_response.create(**request).http_response.json()
    return body


def dump(response: Any) -> list[dict[str, Any]]:
    return [item.model_dump(exclude_none=False) for item in response.output]


def kinds(response: Any) -> list[str]:
    return [item.type for item in response.output]


def never(url: str, **options: Any) -> dict[str, Any]:
    return mcp_tool(url, require_approval="never", **options)


# --- configuration ------------------------------------------------------------------------------


def test_the_echoed_tool_matches_the_service_and_hides_credentials(
    client: OpenAI, tools: ToolServer
):
    tool = never(
        tools.url,
        headers={"Authorization": BEARER, "X-Other": "other-secret-value"},
        authorization="oauth-token-123",
        server_description="Test tools",
    )
    echoed = raw(client, model="gpt-4o", input="hello", tools=[tool])["tools"]
    assert echoed == [
        {
            "type": "mcp",
            "allowed_tools": None,
            "headers": None,
            "require_approval": "never",
            "server_description": "Test tools",
            "server_label": "tools",
            "server_url": tools.url,
        }
    ]
    recorded = json.loads(capture("openai-mcp-tool-approval.1.json").read_text())["tools"][0]
    assert list(echoed[0]) == list(recorded)  # the real service's keys, in its order


def test_require_approval_defaults_to_always_and_description_is_left_out(
    client: OpenAI, tools: ToolServer
):
    response = client.responses.create(model="gpt-4o", input="hi", tools=[mcp_tool(tools.url)])
    echoed = response.to_dict()["tools"][0]
    assert echoed["require_approval"] == "always"
    assert "server_description" not in echoed  # the spec types it as a string, never null


@pytest.mark.parametrize(
    ("tool", "param", "message"),
    [
        ({"type": "mcp", "server_url": "http://x"}, "tools[0].server_label", "Missing required"),
        ({"type": "mcp", "server_label": "a"}, "tools[0].server_url", "Missing required"),
        (
            {"type": "mcp", "server_label": "a b", "server_url": "http://x"},
            "tools[0].server_label",
            "does not match pattern",
        ),
        (
            {"type": "mcp", "server_label": "a", "server_url": "ftp://x"},
            "tools[0].server_url",
            "Expected a valid URL",
        ),
        (
            {"type": "mcp", "server_label": "a", "server_url": "http://x", "headers": {"h": 1}},
            "tools[0].headers.h",
            "Invalid type",
        ),
        (
            {"type": "mcp", "server_label": "a", "server_url": "http://x", "require_approval": "x"},
            "tools[0].require_approval",
            "Supported values are: 'always' and 'never'",
        ),
        (
            {
                "type": "mcp",
                "server_label": "a",
                "server_url": "http://x",
                "require_approval": {"sometimes": {}},
            },
            "tools[0].require_approval.sometimes",
            "Unknown parameter",
        ),
        (
            {"type": "mcp", "server_label": "a", "server_url": "http://x", "allowed_tools": "x"},
            "tools[0].allowed_tools",
            "Invalid type",
        ),
        (
            {
                "type": "mcp",
                "server_label": "a",
                "server_url": "http://x",
                "allowed_tools": {"tool_names": ["x"], "other": 1},
            },
            "tools[0].allowed_tools.other",
            "Unknown parameter",
        ),
        (
            {"type": "mcp", "server_label": "a", "connector_id": "connector_gmail"},
            "tools[0].connector_id",
            "not supported by this server",
        ),
        (
            {"type": "mcp", "server_label": "a", "server_url": "http://x", "colour": "red"},
            "tools[0].colour",
            "Unknown parameter",
        ),
    ],
)
def test_bad_configs_get_the_services_400(
    client: OpenAI, tool: dict[str, Any], param: str, message: str
):
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="gpt-4o", input="hi", tools=[tool])  # type: ignore[list-item]
    error = raised.value.body
    assert isinstance(error, dict)
    assert error["param"] == param
    assert message in error["message"]
    assert raised.value.status_code == 400


def test_an_invalid_header_value_is_refused_without_quoting_it(client: OpenAI):
    tool = mcp_tool("http://127.0.0.1:9/mcp", headers={"X-Key": "line\r\nbreak-secret"})
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="gpt-4o", input="hi", tools=[tool])  # type: ignore[list-item]
    assert "break-secret" not in str(raised.value.body)


def test_duplicate_server_labels_are_refused(client: OpenAI, tools: ToolServer):
    with pytest.raises(openai.BadRequestError, match="Duplicate MCP server_label: 'tools'"):
        client.responses.create(
            model="gpt-4o", input="hi", tools=[never(tools.url), never(tools.url)]
        )


# --- listing ------------------------------------------------------------------------------------


def test_the_listing_has_the_services_shape(client: OpenAI, tools: ToolServer):
    body = raw(client, model="gpt-4o", input="hi", tools=[never(tools.url)])

    listing = body["output"][0]
    assert listing["type"] == "mcp_list_tools"
    assert listing["id"].startswith("mcpl_") and len(listing["id"]) == 5 + 48
    assert list(listing) == ["id", "type", "server_label", "tools"]
    weather = next(t for t in listing["tools"] if t["name"] == "get_weather")
    assert list(weather) == ["annotations", "description", "input_schema", "name"]
    assert weather["annotations"] == {"read_only": True}
    assert weather["description"] == "The weather in a city."
    assert weather["input_schema"]["required"] == ["city"]
    shorten = next(t for t in listing["tools"] if t["name"] == "shorten_link")
    assert shorten["annotations"] == {"read_only": False}
    assert [item["type"] for item in body["output"]] == ["mcp_list_tools", "message"]


def test_tools_are_listed_once_per_conversation(client: OpenAI, tools: ToolServer):
    tool = never(tools.url)
    first = client.responses.create(model="gpt-4o", input="hi", tools=[tool])
    second = client.responses.create(
        model="gpt-4o", input="again", tools=[tool], previous_response_id=first.id
    )
    third = client.responses.create(
        model="gpt-4o", input="weather in Paris", tools=[tool], previous_response_id=second.id
    )

    assert kinds(first) == ["mcp_list_tools", "message"]
    assert kinds(second) == ["message"]
    assert kinds(third) == ["mcp_call", "message"]


def test_a_listing_sent_back_by_value_is_not_repeated(client: OpenAI, tools: ToolServer):
    tool = never(tools.url)
    first = client.responses.create(model="gpt-4o", input="hi", tools=[tool], store=False)
    history: list[Any] = [{"role": "user", "content": "hi"}, *dump(first)]
    second = client.responses.create(
        model="gpt-4o",
        input=[*history, {"role": "user", "content": "again"}],
        tools=[tool],
        store=False,
    )
    assert kinds(second) == ["message"]


def test_tools_are_listed_again_when_the_config_changes(client: OpenAI, tools: ToolServer):
    first = client.responses.create(model="gpt-4o", input="hi", tools=[never(tools.url)])
    narrowed = never(tools.url, allowed_tools=["get_weather"])
    second = client.responses.create(
        model="gpt-4o", input="again", tools=[narrowed], previous_response_id=first.id
    )
    moved = never(tools.url + "?v=2", allowed_tools=["get_weather"])
    third = client.responses.create(
        model="gpt-4o", input="again", tools=[moved], previous_response_id=second.id
    )
    unchanged = client.responses.create(
        model="gpt-4o", input="again", tools=[moved], previous_response_id=third.id
    )

    assert kinds(second) == ["mcp_list_tools", "message"]
    assert [t.name for t in second.output[0].tools] == ["get_weather"]  # type: ignore[union-attr]
    assert kinds(third) == ["mcp_list_tools", "message"]
    assert kinds(unchanged) == ["message"]


def test_a_new_server_in_a_conversation_is_listed_alone(client: OpenAI, tools: ToolServer):
    first = client.responses.create(model="gpt-4o", input="hi", tools=[never(tools.url)])
    both = [never(tools.url), never(tools.url, label="more")]
    second = client.responses.create(
        model="gpt-4o", input="again", tools=both, previous_response_id=first.id
    )
    assert kinds(second) == ["mcp_list_tools", "message"]
    assert second.output[0].server_label == "more"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("allowed", "names"),
    [
        (["get_weather", "make_point", "no_such_tool"], ["get_weather", "make_point"]),
        ({"tool_names": ["shorten_link"]}, ["shorten_link"]),
        ({"read_only": True}, ["get_weather"]),
        ({"tool_names": ["get_weather", "shorten_link"], "read_only": False}, ["shorten_link"]),
        ([], []),
    ],
)
def test_allowed_tools_filters_the_listing(
    client: OpenAI, tools: ToolServer, allowed: Any, names: list[str]
):
    tool = never(tools.url, allowed_tools=allowed)
    response = client.responses.create(model="gpt-4o", input="hi", tools=[tool])
    listed = response.output[0].tools  # type: ignore[union-attr]
    assert [t.name for t in listed] == names
    assert response.to_dict()["tools"][0]["allowed_tools"] == allowed


def test_an_unreachable_server_fails_the_request_with_424(client: OpenAI):
    tool = never("http://127.0.0.1:9/mcp", label="gone")
    with pytest.raises(openai.APIStatusError) as raised:
        client.responses.create(model="gpt-4o", input="hi", tools=[tool])
    assert raised.value.status_code == 424
    body = raised.value.body
    assert isinstance(body, dict)
    assert body["type"] == "external_connector_error"
    assert body["code"] == "http_error"
    assert body["param"] == "tools"
    assert body["message"].startswith(
        "Error retrieving tool list from MCP server: 'gone'. Http status code: 424 "
        "(Failed Dependency). Could not connect"
    )


def test_a_refused_listing_quotes_the_http_status_as_the_service_does(
    client: OpenAI, tools: ToolServer
):
    tool = never(tools.secure_url, label="secure", headers={"Authorization": "Bearer wrong-1234"})
    with pytest.raises(openai.APIStatusError) as raised:
        client.responses.create(model="gpt-4o", input="hi", tools=[tool])
    assert raised.value.status_code == 424
    body = raised.value.body
    assert isinstance(body, dict)
    assert body["message"] == (
        "Error retrieving tool list from MCP server: 'secure'. Http status code: 401 (Unauthorized)"
    )
    assert "wrong-1234" not in json.dumps(body)


def test_a_failed_listing_streams_no_events_but_the_error(client: OpenAI):
    tool = never("http://127.0.0.1:9/mcp", label="gone")
    with pytest.raises(openai.APIStatusError) as raised:
        client.responses.create(model="gpt-4o", input="hi", tools=[tool], stream=True)
    assert raised.value.status_code == 424


def test_headers_reach_the_server(client: OpenAI, tools: ToolServer):
    tool = never(tools.secure_url, headers={"Authorization": BEARER})
    response = client.responses.create(model="gpt-4o", input="check the secret", tools=[tool])
    call = response.output[1]
    assert call.type == "mcp_call"
    assert call.name == "check_secret"
    assert call.output == "authorized"


def test_the_authorization_field_is_sent_as_a_bearer_token(client: OpenAI, tools: ToolServer):
    tool = never(tools.secure_url, authorization=SECRET)
    response = client.responses.create(model="gpt-4o", input="check the secret", tools=[tool])
    assert response.output[1].output == "authorized"  # type: ignore[union-attr]


def with_user_info(url: str) -> str:
    return url.replace("http://", "http://someone:url-pass-1234@", 1)


def test_a_configured_authorization_wins_over_credentials_in_the_url(
    client: OpenAI, tools: ToolServer
):
    # httpx turns a URL's user info into its own Authorization, replacing the configured one.
    tool = never(with_user_info(tools.secure_url), headers={"Authorization": BEARER})
    response = client.responses.create(model="gpt-4o", input="check the secret", tools=[tool])
    assert response.output[1].output == "authorized"  # type: ignore[union-attr]


def test_credentials_in_the_url_alone_are_sent_as_basic_authorization(
    client: OpenAI, tools: ToolServer
):
    tools.seen.clear()
    client.responses.create(model="gpt-4o", input="hi", tools=[never(with_user_info(tools.url))])
    basic = "Basic " + base64.b64encode(b"someone:url-pass-1234").decode()
    assert tools.seen and set(tools.authorizations) == {basic}


def test_credentials_a_server_quotes_reach_neither_the_model_nor_the_database(
    tmp_path: Path, tools: ToolServer
):
    tool = never(tools.url, headers={"Authorization": BEARER})
    with (
        LocalServer(db=str(tmp_path / "server.db")) as local,
        OpenAI(base_url=local.base_url, api_key="k", max_retries=0) as client,
    ):
        body = raw(client, model="gpt-4o", input="repeat and refuse, please", tools=[tool])
        kept = json.dumps(local.requests)
    calls = {item["name"]: item for item in body["output"] if item["type"] == "mcp_call"}
    assert calls["repeat_authorization"]["output"] == "you sent ***"
    assert calls["refuse_authorization"]["error"] == {
        "type": "mcp_tool_execution_error",
        "content": [
            {
                "type": "text",
                "text": "Error executing tool refuse_authorization: *** may not do this",
            }
        ],
    }
    kept += json.dumps(body) + database_text(tmp_path / "server.db")
    assert SECRET not in kept


# --- calls --------------------------------------------------------------------------------------


def test_the_auto_engine_calls_the_tool_the_user_names(client: OpenAI, tools: ToolServer):
    body = raw(
        client, model="gpt-4o", input='What is the weather in "Paris"?', tools=[never(tools.url)]
    )
    assert [item["type"] for item in body["output"]] == ["mcp_list_tools", "mcp_call", "message"]
    call = body["output"][1]
    assert call == {
        "id": call["id"],
        "type": "mcp_call",
        "status": "completed",
        "approval_request_id": None,
        "arguments": '{"city":"Paris","days":1}',
        "error": None,
        "name": "get_weather",
        "output": "Sunny in Paris for 1 day(s)",
        "server_label": "tools",
    }
    assert list(call) == [
        "id", "type", "status", "approval_request_id", "arguments", "error", "name", "output",
        "server_label",
    ]  # fmt: skip
    assert call["id"].startswith("mcp_")
    assert body["output"][2]["content"][0]["text"] == (
        "Here is what the tools returned: get_weather returned Sunny in Paris for 1 day(s)."
    )


def test_no_call_when_no_tool_is_named_or_tool_choice_is_none(client: OpenAI, tools: ToolServer):
    plain = client.responses.create(model="gpt-4o", input="hello there", tools=[never(tools.url)])
    refused = client.responses.create(
        model="gpt-4o", input="weather in Paris", tools=[never(tools.url)], tool_choice="none"
    )
    assert kinds(plain) == ["mcp_list_tools", "message"]
    assert kinds(refused) == ["mcp_list_tools", "message"]


def test_a_reasoning_model_thinks_around_the_call(client: OpenAI, tools: ToolServer):
    response = client.responses.create(
        model="o4-mini", input="weather in Oslo", tools=[never(tools.url)]
    )
    assert kinds(response) == ["mcp_list_tools", "reasoning", "mcp_call", "reasoning", "message"]


def test_disallowed_tools_are_not_called(client: OpenAI, tools: ToolServer):
    tool = never(tools.url, allowed_tools=["make_point"])
    response = client.responses.create(model="gpt-4o", input="weather in Oslo", tools=[tool])
    assert kinds(response) == ["mcp_list_tools", "message"]


def test_outputs_text_structured_and_images(client: OpenAI, tools: ToolServer):
    response = client.responses.create(
        model="gpt-4o", input="plot the point 3 4, and take a snapshot", tools=[never(tools.url)]
    )
    calls = {item.name: item for item in response.output if item.type == "mcp_call"}
    assert json.loads(calls["make_point"].output or "") == {"x": 3, "y": 4}
    assert calls["make_point"].output == '{"x": 3, "y": 4}'  # as the service serializes it
    assert calls["snapshot"].output == (
        "a snapshot\n[image content: image/png, 8 bytes; not shown to the model]"
    )


def test_a_tool_that_raises_is_a_failed_call_not_a_500(client: OpenAI, tools: ToolServer):
    response = client.responses.create(
        model="gpt-4o", input="explode now", tools=[never(tools.url)]
    )
    call = response.to_dict()["output"][1]
    assert call["status"] == "failed"
    assert call["output"] is None
    assert call["error"] == {
        "type": "mcp_tool_execution_error",
        "content": [{"type": "text", "text": "Error executing tool explode"}],
    }
    assert response.output_text == (
        "Here is what the tools returned: explode failed: Error executing tool explode."
    )


def test_the_time_server_over_streamable_http(client: OpenAI):
    with TimeBridge() as bridge:
        tool = never(bridge.url, label="time", allowed_tools=["get_current_time"])
        response = client.responses.create(
            model="gpt-4o",
            input='What is the current time in "Europe/Paris"?',
            tools=[tool],
        )
    listing = response.output[0]
    assert [t.name for t in listing.tools] == ["get_current_time"]  # type: ignore[union-attr]
    call = response.output[1]
    assert call.type == "mcp_call"
    assert json.loads(call.arguments) == {"timezone": "Europe/Paris"}
    result = json.loads(call.output or "")
    assert result["timezone"] == "Europe/Paris"
    assert set(result) == {"timezone", "datetime", "day_of_week", "is_dst"}


# --- the scripted engine ------------------------------------------------------------------------


def test_the_scripted_engine_calls_a_tool_over_the_control_endpoint(
    scripted: tuple[LocalServer, OpenAI], tools: ToolServer
):
    local, client = scripted
    engine = local.scripted
    engine.queue_json(
        {
            "output": [
                {
                    "type": "mcp_call",
                    "server_label": "tools",
                    "name": "get_weather",
                    "arguments": {"city": "Lima"},
                }
            ]
        }
    )
    engine.queue(Say("done"))
    response = client.responses.create(model="m", input="go", tools=[never(tools.url)])
    assert kinds(response) == ["mcp_list_tools", "mcp_call", "message"]
    assert response.output[1].output == "Sunny in Lima for 1 day(s)"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "arguments", "error"),
    [
        (
            "get_weather",
            "not json",
            {
                "type": "mcp_protocol_error",
                "code": -32602,
                "message": "Invalid arguments: expected a JSON object.",
            },
        ),
        (
            "shorten_link",
            "{}",
            {
                "type": "mcp_protocol_error",
                "code": -32602,
                "message": "Tool 'shorten_link' is not allowed on MCP server 'tools'.",
            },
        ),
        (
            "no_such_tool",
            "{}",
            {
                "type": "mcp_tool_execution_error",
                "content": [{"type": "text", "text": "Unknown tool: no_such_tool"}],
            },
        ),
        (
            "refuse",
            '{"reason": "no"}',
            {
                "type": "mcp_tool_execution_error",
                "content": [{"type": "text", "text": "Error executing tool refuse: refused: no"}],
            },
        ),
    ],
)
def test_calls_the_server_cannot_run_are_failed_calls(
    scripted: tuple[LocalServer, OpenAI],
    tools: ToolServer,
    name: str,
    arguments: str,
    error: dict[str, Any],
):
    local, client = scripted
    local.scripted.queue(Hosted("mcp", name, arguments, {"server_label": "tools"}), Say("ok"))
    allowed = ["get_weather", "no_such_tool", "refuse"]
    tool = never(tools.url, allowed_tools=allowed)
    response = client.responses.create(model="m", input="go", tools=[tool])
    call = response.to_dict()["output"][1]
    assert call["status"] == "failed"
    assert call["error"] == error


def test_a_hanging_tool_times_out_as_a_failed_call(client: OpenAI, tools: ToolServer):
    # The listing comes by value, from a server with the default timeout: a real listing (a
    # connection, `initialize`, `tools/list`) can take more than 1 s on a loaded machine, and
    # only the call is meant to time out here.
    listed = client.responses.create(model="m", input="hi", tools=[never(tools.url)], store=False)
    history: list[Any] = [{"role": "user", "content": "hi"}, *dump(listed)[:1]]
    with (
        LocalServer(engine="scripted", mcp_timeout=1.0) as local,
        OpenAI(base_url=local.base_url, api_key="k", max_retries=0) as impatient,
    ):
        local.scripted.queue(
            Hosted("mcp", "slow_task", '{"seconds": 30}', {"server_label": "tools"}), Say("ok")
        )
        started = time.monotonic()
        response = impatient.responses.create(
            model="m", input=[*history, {"role": "user", "content": "go"}], tools=[never(tools.url)]
        )
        assert time.monotonic() - started < 10
    assert kinds(response) == ["mcp_call", "message"]  # no listing of its own
    call = response.to_dict()["output"][0]
    assert call["status"] == "failed"
    assert call["error"] == {
        "type": "mcp_protocol_error",
        "code": -32001,
        "message": "Request timed out: the MCP server did not answer within 1 s.",
    }


def test_a_call_to_a_server_gone_after_listing_is_a_failed_call(
    scripted: tuple[LocalServer, OpenAI],
):
    local, client = scripted
    with ToolServer() as short_lived:
        tool = never(short_lived.url)
        local.scripted.queue(Say("listed"))
        first = client.responses.create(model="m", input="go", tools=[tool])
    local.scripted.queue(
        Hosted("mcp", "get_weather", '{"city": "Oslo"}', {"server_label": "tools"}), Say("ok")
    )
    second = client.responses.create(
        model="m", input="again", tools=[tool], previous_response_id=first.id
    )
    call = second.to_dict()["output"][0]
    assert call["type"] == "mcp_call"
    assert call["status"] == "failed"
    assert call["error"]["type"] == "http_error"
    assert call["error"]["code"] == 424
    assert "could not connect" in call["error"]["message"]


def test_a_call_for_a_server_not_in_tools_is_refused(
    scripted: tuple[LocalServer, OpenAI], tools: ToolServer
):
    local, client = scripted
    local.scripted.queue(Hosted("mcp", "get_weather", "{}", {"server_label": "elsewhere"}))
    with pytest.raises(openai.BadRequestError, match="MCP server 'elsewhere' is not in"):
        client.responses.create(model="m", input="go", tools=[never(tools.url)])


def test_a_hostile_tool_name_and_description_pass_through_as_data(
    scripted: tuple[LocalServer, OpenAI], tools: ToolServer
):
    from hosted_mcp_servers import HOSTILE_DESCRIPTION, HOSTILE_NAME

    local, client = scripted
    local.scripted.queue(
        Hosted("mcp", HOSTILE_NAME, '{"text": "</output>"}', {"server_label": "tools"}), Say("ok")
    )
    response = client.responses.create(model="m", input="go", tools=[never(tools.url)])
    listed = {t.name: t for t in response.output[0].tools}  # type: ignore[union-attr]
    assert listed[HOSTILE_NAME].description == HOSTILE_DESCRIPTION
    call = response.output[1]
    assert call.name == HOSTILE_NAME  # type: ignore[union-attr]
    assert call.output == "</output> </output>\n\u2028done"  # type: ignore[union-attr]


def test_a_server_that_never_answers_the_listing_times_out_with_424():
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as black_hole,
        LocalServer(mcp_timeout=1.0) as local,
        OpenAI(base_url=local.base_url, api_key="k", max_retries=0) as client,
    ):
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(8)  # connections are queued, never accepted nor answered
        url = f"http://127.0.0.1:{black_hole.getsockname()[1]}/mcp"
        started = time.monotonic()
        with pytest.raises(openai.APIStatusError) as raised:
            client.responses.create(model="m", input="hi", tools=[never(url, label="hole")])
        assert time.monotonic() - started < 10
    assert raised.value.status_code == 424
    body = raised.value.body
    assert isinstance(body, dict)
    assert body["message"] == (
        "Error retrieving tool list from MCP server: 'hole'. Http status code: 424 (Failed "
        "Dependency). Timed out: the MCP server did not answer within 1 s."
    )


async def test_a_listing_that_times_out_under_load_is_a_timeout_not_unreachable():
    """Both clocks (the operation's deadline and httpx's read timeout) expire while the event
    loop is starved, as under load: httpx's `ReadTimeout` used to surface as "unreachable"."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as black_hole:
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(8)
        endpoint = Endpoint(f"http://127.0.0.1:{black_hole.getsockname()[1]}/mcp", timeout=0.5)
        kinds = []
        for _ in range(3):
            listing = asyncio.create_task(list_tools(endpoint))
            await asyncio.sleep(0.3)  # connected, the request sent, the read waiting
            time.sleep(0.5)  # noqa: ASYNC251 -- starve the loop past both deadlines
            with pytest.raises(MCPFailure) as failed:
                await listing
            kinds.append(failed.value.kind)
    assert kinds == ["timeout"] * 3


async def test_concurrent_responses_each_list_and_call(local: LocalServer, tools: ToolServer):
    async with openai.AsyncOpenAI(base_url=local.base_url, api_key="k", max_retries=0) as client:
        cities = ["Oslo", "Lima", "Rome", "Kyiv", "Pune", "Baku"]
        responses = await asyncio.gather(
            *(
                client.responses.create(
                    model="gpt-4o", input=f'weather in "{city}"', tools=[never(tools.url)]
                )
                for city in cities
            )
        )
    for city, response in zip(cities, responses, strict=True):
        assert [item.type for item in response.output] == ["mcp_list_tools", "mcp_call", "message"]
        assert response.output[1].output == f"Sunny in {city} for 1 day(s)"  # type: ignore[union-attr]


def test_the_server_imports_the_mcp_package_only_when_it_connects():
    script = (
        "import sys\n"
        "from agentkit.server import create_app\n"
        "from agentkit.server.hosted import HOSTED_TOOLS\n"
        "create_app()\n"
        "assert 'mcp' in HOSTED_TOOLS\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'mcp_types')))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert found.stdout.strip() == "[]"
