"""The tool loop end to end: calls, concurrency, worker threads, context, turns, the result."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from agentkit import MaxTurnsExceeded, RunContext, RunState, Usage, tool
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Say

from .conftest import AgentFactory

TOOLS_SCHEMA = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city's name."}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


@tool
def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city's name.
    """
    return f"sunny in {city}"


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def types(items: list[dict[str, Any]]) -> list[str]:
    return [item["type"] for item in items]


async def test_single_call_runs_the_tool_and_sends_its_output_back(
    server: LocalServer, agent: AgentFactory, client: openai.AsyncOpenAI
) -> None:
    result = await agent(tools=[get_weather], instructions="Be brief.").run("weather in Paris?")

    assert result.output == "Here is what the tools returned: get_weather returned sunny in Paris."
    assert result.output_text == result.output
    assert types(result.new_items) == [
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]
    call = result.new_items[1]
    assert (call["name"], call["arguments"]) == ("get_weather", '{"city": "Paris"}')
    assert result.new_items[2] == {
        "type": "function_call_output",
        "call_id": call["call_id"],
        "output": "sunny in Paris",
    }
    first, second = server.requests
    assert first == {
        "model": "gpt-4o",
        "input": [user("weather in Paris?")],
        "instructions": "Be brief.",
        "tools": [TOOLS_SCHEMA],
        "store": True,
    }
    assert second == {
        "model": "gpt-4o",
        "previous_response_id": result.response_ids[0],
        "input": [result.new_items[2]],
        "instructions": "Be brief.",
        "tools": [TOOLS_SCHEMA],
        "store": True,
    }
    assert len(result.response_ids) == 2
    assert result.last_response_id == result.response_ids[-1]
    stored = [await client.responses.retrieve(rid) for rid in result.response_ids]
    assert [r.id for r in stored] == result.response_ids
    expected = Usage()
    for response in stored:
        expected.add(response.usage)
    assert result.usage == expected
    assert result.usage.requests == 2
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0


async def test_parallel_async_calls_run_concurrently_and_return_in_one_request(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    spans: dict[str, tuple[float, float]] = {}

    @tool
    async def lookup(key: str) -> str:
        """Look a key up."""
        began = time.perf_counter()
        await asyncio.sleep(0.3)
        spans[key] = (began, time.perf_counter())
        return key.upper()

    scripted.scripted.queue(
        [
            Call("lookup", '{"key": "a"}', call_id="call_a"),
            Call("lookup", '{"key": "b"}', call_id="call_b"),
        ],
        Say("a and b"),
    )
    result = await scripted_agent(tools=[lookup]).run("look up a and b")

    began = min(start for start, _ in spans.values())
    ended = max(end for _, end in spans.values())
    assert ended - began < 0.5
    assert sorted(spans) == ["a", "b"]
    assert result.output == "a and b"
    assert len(scripted.requests) == 2
    assert scripted.requests[1]["input"] == [
        {"type": "function_call_output", "call_id": "call_a", "output": "A"},
        {"type": "function_call_output", "call_id": "call_b", "output": "B"},
    ]


async def test_sync_tools_run_in_worker_threads(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    threads: dict[str, int] = {}
    spans: list[tuple[float, float]] = []

    @tool
    def slow(key: str) -> str:
        """Block for a while."""
        threads[key] = threading.get_ident()
        began = time.perf_counter()
        time.sleep(0.3)
        spans.append((began, time.perf_counter()))
        return key

    scripted.scripted.queue(
        [Call("slow", '{"key": "x"}'), Call("slow", '{"key": "y"}')], Say("done")
    )
    result = await scripted_agent(tools=[slow]).run("go")

    assert result.output == "done"
    assert threading.get_ident() not in threads.values()
    assert threads["x"] != threads["y"]
    # the two blocking calls overlapped: neither waited for the other, nor blocked the loop
    assert max(end for _, end in spans) - min(start for start, _ in spans) < 0.5


async def test_tool_concurrency_caps_calls_running_at_once(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    running = 0
    peak = 0

    @tool
    async def work(n: int) -> int:
        """Some work."""
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1
        return n * 10

    scripted.scripted.queue(
        [Call("work", f'{{"n": {n}}}', call_id=f"call_{n}") for n in range(5)], Say("ok")
    )
    result = await scripted_agent(tools=[work], tool_concurrency=2).run("work")

    assert peak == 2
    assert [item["output"] for item in scripted.requests[1]["input"]] == [
        "0",
        "10",
        "20",
        "30",
        "40",
    ]
    assert result.output == "ok"


@dataclass
class Deps:
    user_name: str
    seen: list[tuple[int, str]]


async def test_run_context_carries_the_deps_to_tools(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    @tool
    def greet(ctx: RunContext[Deps], greeting: str) -> str:
        """Greet the user."""
        ctx.deps.seen.append((ctx.turn, ctx.model))
        return f"{greeting}, {ctx.deps.user_name}"

    scripted.scripted.queue(
        Call("greet", '{"greeting": "Hi"}'), Call("greet", '{"greeting": "Yo"}'), Say("done")
    )
    deps = Deps("Ada", [])
    agent = scripted_agent(tools=[greet])

    result = await agent.run("greet me", context=deps)

    assert agent.tools[0].parameters["properties"] == {"greeting": {"type": "string"}}
    assert deps.seen == [(0, "gpt-4o"), (1, "gpt-4o")]
    assert [i["output"] for i in result.new_items if i["type"] == "function_call_output"] == [
        "Hi, Ada",
        "Yo, Ada",
    ]


async def test_max_turns_exceeded_carries_a_resumable_state(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(
        Call("get_weather", '{"city": "Oslo"}', call_id="call_1"),
        Call("get_weather", '{"city": "Rome"}', call_id="call_2"),
    )
    with pytest.raises(MaxTurnsExceeded, match="max_turns=2") as caught:
        await scripted_agent(tools=[get_weather], max_turns=2).run("weather everywhere")

    state = caught.value.state
    assert isinstance(state, RunState)
    assert state.turn == 2
    assert len(scripted.requests) == 2
    assert types(state.new_items) == [
        "message",
        "function_call",
        "function_call_output",
        "function_call",
        "function_call_output",
    ]
    assert [i["output"] for i in state.new_items if i["type"] == "function_call_output"] == [
        "sunny in Oslo",
        "sunny in Rome",
    ]
    assert state.usage.requests == 2
    assert len(state.response_ids) == 2
    restored = RunState.from_json(state.to_json())
    assert restored.to_dict() == state.to_dict()
    assert restored.new_items == state.new_items
    assert restored.conversation.last_response_id == state.response_ids[-1]


async def test_run_level_max_turns_overrides_the_agent(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(Call("get_weather", '{"city": "Oslo"}'))
    with pytest.raises(MaxTurnsExceeded, match="max_turns=1"):
        await scripted_agent(tools=[get_weather], max_turns=5).run("weather", max_turns=1)
    assert len(scripted.requests) == 1


@pytest.mark.parametrize("store", [True, False])
async def test_a_stopped_run_resumes_from_its_saved_state(
    scripted: LocalServer, scripted_agent: AgentFactory, store: bool
) -> None:
    scripted.scripted.queue(Call("get_weather", '{"city": "Oslo"}', call_id="call_1"))
    agent = scripted_agent(tools=[get_weather], max_turns=1, store=store)
    with pytest.raises(MaxTurnsExceeded) as caught:
        await agent.run("weather in Oslo")
    saved = caught.value.state.to_json()

    scripted.scripted.queue(Say("Sunny in Oslo."))
    resumed = await agent.run([], conversation=RunState.from_json(saved).conversation)

    assert resumed.output == "Sunny in Oslo."
    output = {"type": "function_call_output", "call_id": "call_1", "output": "sunny in Oslo"}
    last = scripted.requests[-1]
    if store:
        assert last["previous_response_id"] == caught.value.state.response_ids[0]
        assert last["input"] == [output]
    else:
        assert "previous_response_id" not in last
        assert [i["type"] for i in last["input"]] == [
            "message",
            "function_call",
            "function_call_output",
        ]
        assert last["input"][-1] == output
    assert [i["type"] for i in resumed.new_items] == ["message"]
