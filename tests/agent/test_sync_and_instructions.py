"""run_sync from sync code, its refusal inside an event loop, and instructions as functions."""

from __future__ import annotations

import asyncio
import time

import pytest

from agentkit import Agent, RunContext, UserError, tool
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Say

from .conftest import AgentFactory


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def test_run_sync_works_from_sync_code(server: LocalServer, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AGENTKIT_BASE_URL", server.base_url)
    agent = Agent(model="gpt-4o", tools=[get_weather])

    first = agent.run_sync("weather in Paris")
    second = agent.run_sync("thanks", conversation=first.conversation)  # a new loop each time

    assert first.output == "Here is what the tools returned: get_weather returned sunny in Paris."
    assert second.output == (
        'You said: "thanks". Earlier in this conversation you sent 1 message, starting with '
        '"weather in Paris".'
    )
    assert len(server.requests) == 3
    assert server.requests[2]["previous_response_id"] == first.last_response_id


async def test_run_sync_inside_a_running_loop_fails_fast(server: LocalServer) -> None:
    agent = Agent(model="gpt-4o")
    began = time.perf_counter()
    with pytest.raises(UserError, match=r"run_sync\(\) was called inside a running event loop"):
        agent.run_sync("hi")
    assert time.perf_counter() - began < 0.1
    assert server.requests == []


async def test_run_sync_message_points_to_run() -> None:
    with pytest.raises(UserError, match=r"await agent\.run\(\.\.\.\)"):
        Agent(model="gpt-4o").run_sync("hi")


def describe(ctx: RunContext[str]) -> str:
    return f"Speak {ctx.deps}; turn {ctx.turn}."


async def describe_later(ctx: RunContext[str]) -> str:
    await asyncio.sleep(0)
    return f"Speak {ctx.deps} (async); turn {ctx.turn} of {ctx.model}."


@pytest.mark.parametrize(
    ("instructions", "expected"),
    [
        (describe, ["Speak French; turn 0.", "Speak French; turn 1."]),
        (
            describe_later,
            [
                "Speak French (async); turn 0 of gpt-4o.",
                "Speak French (async); turn 1 of gpt-4o.",
            ],
        ),
        ("Static.", ["Static.", "Static."]),
    ],
    ids=["sync-function", "async-function", "string"],
)
async def test_instructions_are_sent_on_every_request(
    scripted: LocalServer, scripted_agent: AgentFactory, instructions: object, expected: list[str]
) -> None:
    scripted.scripted.queue(Call("get_weather", '{"city": "Lyon"}'), Say("Sunny."))
    agent = scripted_agent(tools=[get_weather], instructions=instructions)

    await agent.run("weather in Lyon", context="French")

    assert [body["instructions"] for body in scripted.requests] == expected


async def test_no_instructions_field_without_instructions(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(Say("Hi."))
    await scripted_agent().run("hi")
    assert "instructions" not in scripted.requests[0]
