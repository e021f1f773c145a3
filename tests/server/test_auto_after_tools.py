"""The `auto` engine after a tool's output (docs/server.md, "The `auto` engine", step 1): whatever
kind of tool answered last — a function, a hosted MCP call, a declined approval — a model left to
choose (`tool_choice` auto or none) answers, quoting every result since the user's message, and
calls nothing again (no second side effect; no approve → approve loop).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hosted_mcp_servers import ToolServer, mcp_tool
from openai import OpenAI

from agentkit.server import LocalServer

# The function tool and the MCP tool share the word "weather", so one message names both.
FORECAST = {
    "type": "function",
    "name": "weather_forecast",
    "description": "A forecast.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
ASK = "What's the weather in Paris?"


@pytest.fixture(scope="module")
def tools() -> Iterator[ToolServer]:
    with ToolServer() as running:
        yield running


@pytest.fixture(scope="module")
def client() -> Iterator[OpenAI]:
    with (
        LocalServer() as running,
        OpenAI(base_url=running.base_url, api_key="k", max_retries=0) as opened,
    ):
        yield opened


def kinds(response: Any) -> list[str]:
    return [item.type for item in response.output]


def answer_function(client: OpenAI, response: Any, tools: list[Any], output: str) -> Any:
    [call] = [item for item in response.output if item.type == "function_call"]
    return client.responses.create(
        model="gpt-4.1",
        previous_response_id=response.id,
        tools=tools,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": output}],
    )


def test_after_function_outputs_nothing_more_is_called(client: OpenAI, tools: ToolServer) -> None:
    request_tools = [FORECAST, mcp_tool(tools.url, require_approval="never")]
    first = client.responses.create(model="gpt-4.1", input=ASK, tools=request_tools)
    assert kinds(first) == ["mcp_list_tools", "function_call"]

    second = answer_function(client, first, request_tools, "Rain")

    assert kinds(second) == ["message"]
    assert second.output_text == "Here is what the tools returned: weather_forecast returned Rain."


def approve(client: OpenAI, pending: Any, request_tools: list[Any], yes: bool = True) -> Any:
    return client.responses.create(
        model="gpt-4.1",
        previous_response_id=pending.id,
        tools=request_tools,
        input=[
            {
                "type": "mcp_approval_response",
                "approval_request_id": pending.output[-1].id,
                "approve": yes,
                **({} if yes else {"reason": "not now"}),
            }
        ],
    )


def test_after_an_approved_mcp_call_the_function_is_not_called(
    client: OpenAI, tools: ToolServer
) -> None:
    # The MCP call runs first; the function tool the message also names arrives with the
    # approval. Before, the engine then called it too (a second side effect, the MCP output
    # left out of the answer); now the MCP call's output ends the turn.
    hosted = mcp_tool(tools.url, require_approval="always")
    first = client.responses.create(model="gpt-4.1", input=ASK, tools=[hosted])
    assert kinds(first) == ["mcp_list_tools", "mcp_approval_request"]

    second = approve(client, first, [FORECAST, hosted])

    assert kinds(second) == ["mcp_call", "message"]
    assert second.output_text == (
        "Here is what the tools returned: get_weather returned Sunny in Paris for 1 day(s)."
    )


def test_a_declined_call_is_answered_without_calling_the_function(
    client: OpenAI, tools: ToolServer
) -> None:
    hosted = mcp_tool(tools.url, require_approval="always")
    first = client.responses.create(model="gpt-4.1", input=ASK, tools=[hosted])

    second = approve(client, first, [FORECAST, hosted], yes=False)

    assert kinds(second) == ["message"]
    assert second.output_text == (
        "Here is what the tools returned: the MCP tool call was declined (not now), so it did "
        "not run."
    )


def test_a_hosted_only_turn_quotes_its_result(client: OpenAI, tools: ToolServer) -> None:
    response = client.responses.create(
        model="o4-mini", input=ASK, tools=[mcp_tool(tools.url, require_approval="never")]
    )
    assert kinds(response) == ["mcp_list_tools", "reasoning", "mcp_call", "reasoning", "message"]
    assert response.output_text.endswith("get_weather returned Sunny in Paris for 1 day(s).")


def test_required_still_calls_after_outputs(client: OpenAI, tools: ToolServer) -> None:
    request_tools = [FORECAST]
    first = client.responses.create(model="gpt-4.1", input=ASK, tools=request_tools)
    again = client.responses.create(
        model="gpt-4.1",
        previous_response_id=first.id,
        tools=request_tools,
        tool_choice="required",
        input=[
            {"type": "function_call_output", "call_id": first.output[0].call_id, "output": "x"}  # type: ignore[union-attr]
        ],
    )
    assert kinds(again) == ["function_call"]
