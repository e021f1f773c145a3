"""Agent.stream: typed events as they happen, ending with the same result `run` returns."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from agentkit import (
    FinalResult,
    ModelSettings,
    ReasoningSummaryDelta,
    ResponseCompleted,
    RetryPolicy,
    RunEvent,
    TextDelta,
    ToolCallStarted,
    ToolResult,
    Usage,
    tool,
)
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Fail, Say

from .conftest import AgentFactory


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def kinds(events: list[RunEvent]) -> list[str]:
    """Event type names, runs of deltas collapsed to one."""
    names: list[str] = []
    for event in events:
        name = type(event).__name__
        if not (names and names[-1] == name and name.endswith("Delta")):
            names.append(name)
    return names


async def collect(stream: Any) -> list[RunEvent]:
    return [event async for event in stream]


async def usage_of(client: openai.AsyncOpenAI, response_id: str) -> Usage:
    usage = Usage()
    usage.add((await client.responses.retrieve(response_id)).usage)
    return usage


async def test_stream_of_a_tool_run(
    server: LocalServer, agent: AgentFactory, client: openai.AsyncOpenAI
) -> None:
    events = await collect(agent(tools=[get_weather]).stream("weather in Paris"))

    assert kinds(events) == [
        "ResponseCompleted",
        "ToolCallStarted",
        "ToolResult",
        "TextDelta",
        "ResponseCompleted",
        "FinalResult",
    ]
    final = events[-1]
    assert isinstance(final, FinalResult)
    result = final.result
    assert result.output == "Here is what the tools returned: get_weather returned sunny in Paris."
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1
    assert "".join(d.delta for d in deltas) == result.output_text
    assert {d.response_id for d in deltas} == {result.response_ids[1]}

    started = next(e for e in events if isinstance(e, ToolCallStarted))
    finished = next(e for e in events if isinstance(e, ToolResult))
    call = result.new_items[1]
    assert (started.call_id, started.name, started.arguments) == (
        call["call_id"],
        "get_weather",
        '{"city": "Paris"}',
    )
    assert (finished.call_id, finished.name, finished.output) == (
        call["call_id"],
        "get_weather",
        "sunny in Paris",
    )

    completed = [e for e in events if isinstance(e, ResponseCompleted)]
    assert [(e.response_id, e.turn) for e in completed] == [
        (result.response_ids[0], 1),
        (result.response_ids[1], 2),
    ]
    for event in completed:
        assert event.usage == await usage_of(client, event.response_id)
        assert event.usage.requests == 1
    assert result.usage == completed[0].usage + completed[1].usage
    assert all(body["stream"] is True for body in server.requests)
    assert len(server.requests) == 2


async def test_reasoning_summary_is_streamed(server: LocalServer, agent: AgentFactory) -> None:
    settings = ModelSettings(reasoning_summary="auto")
    events = await collect(
        agent(model="o4-mini", settings=settings, tools=[get_weather]).stream("weather in Oslo")
    )

    assert kinds(events) == [
        "ReasoningSummaryDelta",
        "ResponseCompleted",
        "ToolCallStarted",
        "ToolResult",
        "ReasoningSummaryDelta",
        "TextDelta",
        "ResponseCompleted",
        "FinalResult",
    ]
    result = events[-1].result  # type: ignore[union-attr]
    summaries: dict[str, str] = {}
    for event in events:
        if isinstance(event, ReasoningSummaryDelta):
            summaries[event.response_id] = summaries.get(event.response_id, "") + event.delta
    assert summaries == {
        result.response_ids[0]: "To answer this I will call get_weather.",
        result.response_ids[1]: "The tool results are in; I will summarise them.",
    }
    reasoning = [i for i in result.new_items if i["type"] == "reasoning"]
    assert [i["summary"][0]["text"] for i in reasoning] == list(summaries.values())
    assert server.requests[0]["reasoning"] == {"summary": "auto"}


async def test_stream_and_run_give_the_same_result(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    script = (Call("get_weather", '{"city": "Nice"}', call_id="call_1"), Say("Sunny in Nice."))
    scripted.scripted.queue(*script)
    ran = await scripted_agent(tools=[get_weather]).run("weather")
    scripted.scripted.queue(*script)
    events = await collect(scripted_agent(tools=[get_weather]).stream("weather"))
    streamed = events[-1].result  # type: ignore[union-attr]

    assert streamed.output == ran.output == "Sunny in Nice."
    assert [i["type"] for i in streamed.new_items] == [i["type"] for i in ran.new_items]
    assert streamed.new_items[2] == ran.new_items[2]
    assert streamed.usage == ran.usage
    bodies = scripted.requests
    assert [
        {k: v for k, v in b.items() if k not in ("stream", "previous_response_id")}
        for b in bodies[2:]
    ] == [{k: v for k, v in b.items() if k != "previous_response_id"} for b in bodies[:2]]


async def test_stream_retries_opening_the_stream(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(Fail(503, "busy"), Say("Hello there."))
    retry = RetryPolicy(initial_backoff=0.01, max_backoff=0.05, jitter=0)
    events = await collect(scripted_agent(retry=retry).stream("hi"))

    assert "".join(e.delta for e in events if isinstance(e, TextDelta)) == "Hello there."
    assert isinstance(events[-1], FinalResult)
    assert len(scripted.requests) == 2


async def test_stream_raises_on_model_errors(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    from agentkit import ModelCallError

    scripted.scripted.queue(Fail(400, "bad request", type="invalid_request_error"))
    with pytest.raises(ModelCallError) as caught:
        await collect(scripted_agent().stream("hi"))
    assert caught.value.status_code == 400
