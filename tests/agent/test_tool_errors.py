"""A misbehaving model or tool: errors go back to the model as outputs, or raise on request."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentkit import RunState, ToolError, tool
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Say

from .conftest import AgentFactory


@tool
def get_weather(city: str, days: int = 1) -> str:
    """The weather in a city."""
    return f"sunny in {city} for {days} days"


@tool
def explode(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"cannot handle {reason}")


@tool(timeout=0.05)
async def slow(seconds: float) -> str:
    """Takes its time."""
    await asyncio.sleep(seconds)
    return "finally"


async def error_output_for(scripted: LocalServer, scripted_agent: AgentFactory, call: Call) -> str:
    """Play `call`, then a final answer; return the output the model got for the call."""
    scripted.scripted.queue([call], Say("I see."))
    result = await scripted_agent(tools=[get_weather, explode, slow]).run("try it")

    assert result.output == "I see."
    assert len(scripted.requests) == 2
    (output,) = scripted.requests[1]["input"]
    assert output["type"] == "function_call_output"
    assert output["call_id"] == "call_1"
    assert [i["type"] for i in result.new_items] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]
    text: str = output["output"]
    return text


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        pytest.param(
            Call("get_weather", '{"city": "Par', call_id="call_1"),
            "Error: the arguments are not valid JSON (Unterminated string starting at: "
            "line 1 column 10). Call get_weather again with a JSON object.",
            id="malformed-json",
        ),
        pytest.param(
            Call("get_weather", '["Paris"]', call_id="call_1"),
            "Error: the arguments must be a JSON object, not list. "
            "Call get_weather again with a JSON object.",
            id="not-an-object",
        ),
        pytest.param(
            Call("get_weather", '{"city": 12, "days": "many"}', call_id="call_1"),
            "Error: the arguments for get_weather are invalid:\n"
            "- city: Input should be a valid string (got 12)\n"
            '- days: Input should be a valid integer, unable to parse string as an integer (got "many")\n'
            "Call get_weather again with corrected arguments.",
            id="invalid-arguments",
        ),
        pytest.param(
            Call("get_weather", "{}", call_id="call_1"),
            "Error: the arguments for get_weather are invalid:\n"
            "- city: Field required\n"
            "Call get_weather again with corrected arguments.",
            id="missing-argument",
        ),
        pytest.param(
            Call("get_wether", '{"city": "Paris"}', call_id="call_1"),
            "Error: there is no tool named 'get_wether'. "
            "Available tools: get_weather, explode, slow.",
            id="unknown-tool",
        ),
        pytest.param(
            Call("explode", '{"reason": "Mondays"}', call_id="call_1"),
            "Error: explode raised ValueError: cannot handle Mondays",
            id="tool-raises",
        ),
        pytest.param(
            Call("slow", '{"seconds": 5}', call_id="call_1"),
            "Error: slow timed out after 0.05 s",
            id="timeout",
        ),
    ],
)
async def test_error_goes_back_to_the_model_and_the_loop_goes_on(
    scripted: LocalServer, scripted_agent: AgentFactory, call: Call, expected: str
) -> None:
    assert await error_output_for(scripted, scripted_agent, call) == expected


async def test_model_corrects_itself_after_an_error(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(
        Call("get_weather", '{"town": "Paris"}', call_id="call_1"),
        Call("get_weather", '{"city": "Paris"}', call_id="call_2"),
        Say("Sunny."),
    )
    result = await scripted_agent(tools=[get_weather]).run("weather?")

    outputs = [i["output"] for i in result.new_items if i["type"] == "function_call_output"]
    assert outputs[0].startswith("Error: the arguments for get_weather are invalid:\n")
    assert outputs[1] == "sunny in Paris for 1 days"
    assert result.output == "Sunny."
    assert len(scripted.requests) == 3


async def test_one_failing_call_does_not_stop_its_siblings(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(
        [
            Call("explode", '{"reason": "x"}', call_id="call_1"),
            Call("get_weather", '{"city": "Oslo"}', call_id="call_2"),
        ],
        Say("Partly."),
    )
    result = await scripted_agent(tools=[get_weather, explode]).run("both")

    assert scripted.requests[1]["input"] == [
        {
            "type": "function_call_output",
            "call_id": "call_1",
            "output": "Error: explode raised ValueError: cannot handle x",
        },
        {"type": "function_call_output", "call_id": "call_2", "output": "sunny in Oslo for 1 days"},
    ]
    assert result.output == "Partly."


async def test_raise_errors_raises_tool_error_with_the_state(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    @tool(raise_errors=True)
    def strict_tool(value: int) -> int:
        """Refuses odd numbers."""
        if value % 2:
            raise ValueError("odd")
        return value

    scripted.scripted.queue(Call("strict_tool", '{"value": 3}', call_id="call_1"), Say("never"))
    with pytest.raises(ToolError, match="strict_tool raised ValueError: odd") as caught:
        await scripted_agent(tools=[strict_tool]).run("try 3")

    error = caught.value
    assert (error.tool_name, error.call_id) == ("strict_tool", "call_1")
    assert isinstance(error.__cause__, ValueError)
    state: Any = error.state
    assert isinstance(state, RunState)
    assert [i["type"] for i in state.new_items] == ["message", "function_call"]
    assert state.response_ids and state.turn == 1
    assert RunState.from_json(state.to_json()).to_dict() == state.to_dict()
    assert len(scripted.requests) == 1


async def test_raise_errors_also_covers_bad_arguments(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    @tool(raise_errors=True)
    def picky(value: int) -> int:
        """Wants an integer."""
        return value

    scripted.scripted.queue(Call("picky", "{oops", call_id="call_9"))
    with pytest.raises(ToolError, match="not valid JSON") as caught:
        await scripted_agent(tools=[picky]).run("go")
    assert caught.value.call_id == "call_9"
    assert isinstance(caught.value.state, RunState)
