"""The hosted `mcp` tool's approvals: who must approve, and approving or declining a call both by
`previous_response_id` and by sending the items back (`store=False`), with a real MCP server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from hosted_mcp_servers import ToolServer, mcp_tool
from openai import OpenAI

from agentkit.server import LocalServer


@pytest.fixture(scope="module")
def tools() -> Iterator[ToolServer]:
    with ToolServer() as running:
        yield running


@pytest.fixture(scope="module")
def client() -> Iterator[OpenAI]:
    with (
        LocalServer() as local,
        OpenAI(base_url=local.base_url, api_key="k", max_retries=0) as opened,
    ):
        yield opened


def kinds(response: Any) -> list[str]:
    return [item.type for item in response.output]


def items(response: Any) -> list[dict[str, Any]]:
    return [item.model_dump(exclude_none=True) for item in response.output]


def answer(request_id: str, approve: bool, **extra: Any) -> dict[str, Any]:
    return {
        "type": "mcp_approval_response",
        "approval_request_id": request_id,
        "approve": approve,
        **extra,
    }


ASK = "What is the weather in Paris?"


# --- who must approve ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("require_approval", "question", "expected"),
    [
        ("always", ASK, "mcp_approval_request"),
        (None, ASK, "mcp_approval_request"),  # the default is "always"
        ("never", ASK, "mcp_call"),
        ({"never": {"tool_names": ["get_weather"]}}, ASK, "mcp_call"),
        ({"never": {"tool_names": ["get_weather"]}}, "shorten this link", "mcp_approval_request"),
        ({"always": {"tool_names": ["shorten_link"]}}, ASK, "mcp_call"),
        ({"always": {"tool_names": ["shorten_link"]}}, "shorten this link", "mcp_approval_request"),
        ({"never": {"read_only": True}}, ASK, "mcp_call"),
        ({"never": {"read_only": True}}, "shorten this link", "mcp_approval_request"),
        ({"always": {"read_only": False}}, ASK, "mcp_call"),
        ({"always": {}, "never": {"tool_names": ["get_weather"]}}, ASK, "mcp_approval_request"),
    ],
)
def test_require_approval_decides_per_tool(
    client: OpenAI, tools: ToolServer, require_approval: Any, question: str, expected: str
):
    options = {} if require_approval is None else {"require_approval": require_approval}
    tool = mcp_tool(tools.url, **options)
    response = client.responses.create(model="gpt-4o", input=question, tools=[tool])
    assert kinds(response)[:2] == ["mcp_list_tools", expected]
    if expected == "mcp_approval_request":
        assert kinds(response) == ["mcp_list_tools", "mcp_approval_request"]  # it ends there


def test_an_approval_request_has_the_services_shape(client: OpenAI, tools: ToolServer):
    raw = client.responses.with_raw_response.create(
        model="gpt-4o", input=ASK, tools=[mcp_tool(tools.url)]
    )
    request = raw.http_response.json()["output"][1]
    assert request == {
        "id": request["id"],
        "type": "mcp_approval_request",
        "arguments": '{"city":"Paris","days":1}',
        "name": "get_weather",
        "server_label": "tools",
    }
    assert list(request) == ["id", "type", "arguments", "name", "server_label"]
    assert request["id"].startswith("mcpr_")
    assert raw.http_response.json()["status"] == "completed"


# --- approving and declining by previous_response_id ---------------------------------------------


def test_approve_by_previous_response_id(client: OpenAI, tools: ToolServer):
    tool = mcp_tool(tools.url)
    first = client.responses.create(model="gpt-4o", input=ASK, tools=[tool])
    request = first.output[1]

    second = client.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        input=[answer(request.id, True)],
        tools=[tool],
    )

    assert kinds(second) == ["mcp_call", "message"]
    call = items(second)[0]
    assert call["approval_request_id"] == request.id
    assert call["name"] == "get_weather"
    assert call["arguments"] == request.arguments  # type: ignore[union-attr]
    assert call["output"] == "Sunny in Paris for 1 day(s)"
    assert second.output_text == (
        "Here is what the tools returned: get_weather returned Sunny in Paris for 1 day(s)."
    )
    # The approved call runs once: a later turn does not run it again.
    third = client.responses.create(
        model="gpt-4o", previous_response_id=second.id, input="thanks", tools=[tool]
    )
    assert kinds(third) == ["message"]


def test_decline_by_previous_response_id(client: OpenAI, tools: ToolServer):
    tool = mcp_tool(tools.url)
    first = client.responses.create(model="gpt-4o", input=ASK, tools=[tool])

    second = client.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        input=[answer(first.output[1].id, False, reason="not now")],  # type: ignore[union-attr]
        tools=[tool],
    )

    assert kinds(second) == ["message"]
    assert second.output_text == (
        "Here is what the tools returned: the MCP tool call was declined (not now), so it did "
        "not run."
    )


def test_the_approval_response_is_stored_as_input(client: OpenAI, tools: ToolServer):
    tool = mcp_tool(tools.url)
    first = client.responses.create(model="gpt-4o", input=ASK, tools=[tool])
    request_id = first.output[1].id  # type: ignore[union-attr]
    second = client.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        input=[answer(request_id, True)],
        tools=[tool],
    )
    stored = client.responses.input_items.list(second.id, order="asc").data
    response_item = stored[-1].model_dump()
    assert response_item["type"] == "mcp_approval_response"
    assert response_item["approval_request_id"] == request_id
    assert response_item["approve"] is True
    assert response_item["id"].startswith("mcpa_")


# --- approving and declining by sending the items back -------------------------------------------


@pytest.mark.parametrize("store", [False, True])
def test_approve_by_items(client: OpenAI, tools: ToolServer, store: bool):
    tool = mcp_tool(tools.url)
    first = client.responses.create(model="gpt-4o", input=ASK, tools=[tool], store=store)
    history = [{"role": "user", "content": ASK}, *items(first)]

    second = client.responses.create(
        model="gpt-4o",
        input=[*history, answer(first.output[1].id, True)],  # type: ignore[union-attr]
        tools=[tool],
        store=store,
    )

    assert kinds(second) == ["mcp_call", "message"]
    assert second.output[0].output == "Sunny in Paris for 1 day(s)"  # type: ignore[union-attr]
    # Sent back again with its result, the call is not repeated.
    history += [answer(first.output[1].id, True), *items(second)]  # type: ignore[union-attr]
    third = client.responses.create(
        model="gpt-4o",
        input=[*history, {"role": "user", "content": "thanks"}],
        tools=[tool],
        store=store,
    )
    assert kinds(third) == ["message"]


def test_decline_by_items_with_store_false(client: OpenAI, tools: ToolServer):
    tool = mcp_tool(tools.url)
    first = client.responses.create(model="gpt-4o", input=ASK, tools=[tool], store=False)
    history = [{"role": "user", "content": ASK}, *items(first)]
    second = client.responses.create(
        model="gpt-4o",
        input=[*history, answer(first.output[1].id, False)],  # type: ignore[union-attr]
        tools=[tool],
        store=False,
    )
    assert kinds(second) == ["message"]
    assert "declined" in second.output_text


def test_approve_with_a_reasoning_model_and_encrypted_reasoning(client: OpenAI, tools: ToolServer):
    tool = mcp_tool(tools.url)
    first = client.responses.create(
        model="o4-mini",
        input=ASK,
        tools=[tool],
        store=False,
        include=["reasoning.encrypted_content"],
    )
    assert kinds(first) == ["mcp_list_tools", "reasoning", "mcp_approval_request"]
    history = [{"role": "user", "content": ASK}, *items(first)]
    second = client.responses.create(
        model="o4-mini",
        input=[*history, answer(first.output[2].id, True)],  # type: ignore[union-attr]
        tools=[tool],
        store=False,
        include=["reasoning.encrypted_content"],
    )
    assert kinds(second) == ["mcp_call", "reasoning", "message"]


# --- what the service refuses ---------------------------------------------------------------------


def test_an_answer_to_an_unknown_request_is_refused(client: OpenAI, tools: ToolServer):
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(
            model="gpt-4o",
            input=[{"role": "user", "content": ASK}, answer("mcpr_unknown", True)],
            tools=[mcp_tool(tools.url)],
        )
    body = raised.value.body
    assert isinstance(body, dict)
    assert body["message"] == (
        "No approval request found for mcp_approval_response with approval_request_id mcpr_unknown."
    )
    assert body["param"] == "input"


def test_an_approval_request_sent_again_with_its_response_is_a_duplicate(
    client: OpenAI, tools: ToolServer
):
    tool = mcp_tool(tools.url)
    first = client.responses.create(model="gpt-4o", input=ASK, tools=[tool])
    request = items(first)[1]
    with pytest.raises(
        openai.BadRequestError, match=f"Duplicate item found with id {request['id']}"
    ):
        client.responses.create(
            model="gpt-4o",
            previous_response_id=first.id,
            input=[request, answer(request["id"], True)],
            tools=[tool],
        )


def test_an_approval_for_a_server_no_longer_in_tools_is_refused(client: OpenAI, tools: ToolServer):
    first = client.responses.create(model="gpt-4o", input=ASK, tools=[mcp_tool(tools.url)])
    other = mcp_tool(tools.url, label="other")
    with pytest.raises(openai.BadRequestError, match="MCP server 'tools' is not in"):
        client.responses.create(
            model="gpt-4o",
            previous_response_id=first.id,
            input=[answer(first.output[1].id, True)],  # type: ignore[union-attr]
            tools=[other],
        )


@pytest.mark.parametrize(
    ("item", "param", "message"),
    [
        (
            {"type": "mcp_approval_response", "approve": True},
            "input[0].approval_request_id",
            "Missing",
        ),
        (
            {"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": "yes"},
            "input[0].approve",
            "Invalid type",
        ),
        (
            {
                "type": "mcp_approval_response",
                "approval_request_id": "mcpr_1",
                "approve": True,
                "x": 1,
            },
            "input[0].x",
            "Unknown parameter",
        ),
        ({"type": "mcp_call", "server_label": "a", "name": "b"}, "input[0].id", "Missing"),
        (
            {"type": "mcp_list_tools", "id": "mcpl_1", "server_label": "a", "tools": [{}]},
            "input[0].tools[0].input_schema",
            "Invalid type",
        ),
    ],
)
def test_malformed_mcp_items_are_refused(
    client: OpenAI, item: dict[str, Any], param: str, message: str
):
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="gpt-4o", input=[item])  # type: ignore[list-item]
    body = raised.value.body
    assert isinstance(body, dict)
    assert body["param"] == param
    assert message in body["message"]
