"""Chaining, storage, model, tool calls and turns: every combination follows the service's rules."""

from __future__ import annotations

import warnings
from typing import Any

import openai
import pytest

from agentkit import (
    Agent,
    ChainRecoveryWarning,
    ConfigurationError,
    Conversation,
    MaxTurnsExceeded,
    ModelCallError,
    ModelSettings,
    RunResult,
    tool,
)
from agentkit.server import LocalServer

from .conftest import AgentFactory

ENCRYPTED = "reasoning.encrypted_content"


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool
def get_time(city: str) -> str:
    """The local time in a city."""
    return f"noon in {city}"


MODES = [
    pytest.param(True, "previous_response_id", id="store-chained"),
    pytest.param(True, "items", id="store-items"),
    pytest.param(False, "items", id="stateless"),
]
PROMPTS = [
    pytest.param(("weather in Paris", "weather in Rome"), 1, id="one-call"),
    pytest.param(("weather and time in Paris", "weather and time in Rome"), 2, id="two-calls"),
]


def is_model_output(item: dict[str, Any]) -> bool:
    return item["type"] in ("reasoning", "function_call") or item.get("role") == "assistant"


def check_bodies(
    bodies: list[dict[str, Any]],
    first: RunResult[Any],
    result: RunResult[Any],
    *,
    store: bool,
    chaining: str,
    model: str,
    calls: int,
) -> None:
    """Each request sent exactly what its chaining mode needs, and nothing it may not."""
    response_ids = first.response_ids + result.response_ids[:1]
    transcript = result.conversation.items
    assert len(bodies) == 4
    for body in bodies:
        assert body["model"] == model
        assert body["store"] is store
        assert body["instructions"] == "Answer briefly."
        assert [t["name"] for t in body["tools"]] == ["get_weather", "get_time"]
    if chaining == "previous_response_id":
        assert ["previous_response_id" in body for body in bodies] == [False, True, True, True]
        assert [body.get("previous_response_id") for body in bodies[1:]] == response_ids
        assert all("include" not in body for body in bodies)
        assert [[i["type"] for i in body["input"]] for body in bodies] == [
            ["message"],
            ["function_call_output"] * calls,
        ] * 2
        sent = [item for body in bodies for item in body["input"]]
        assert sent == [item for item in transcript if not is_model_output(item)]
    else:
        assert all("previous_response_id" not in body for body in bodies)
        assert all(body["include"] == [ENCRYPTED] for body in bodies)
        sizes = [len(body["input"]) for body in bodies]
        assert sizes == sorted(set(sizes))
        for body in bodies:
            assert body["input"] == transcript[: len(body["input"])]
        final_output = 2 if model.startswith("o") else 1
        assert bodies[-1]["input"] == transcript[:-final_output]
        for item in transcript:
            if item["type"] == "reasoning":
                assert item["encrypted_content"]
    expected = ["message"]
    expected += (["reasoning"] if model.startswith("o") else []) + ["function_call"] * calls
    expected += ["function_call_output"] * calls
    expected += (["reasoning"] if model.startswith("o") else []) + ["message"]
    assert [i["type"] for i in result.new_items] == expected


@pytest.mark.parametrize(("store", "chaining"), MODES)
@pytest.mark.parametrize("model", ["gpt-4o", "o4-mini"])
@pytest.mark.parametrize(("prompts", "calls"), PROMPTS)
async def test_two_runs_in_one_conversation(
    server: LocalServer,
    agent: AgentFactory,
    store: bool,
    chaining: str,
    model: str,
    prompts: tuple[str, str],
    calls: int,
) -> None:
    bot = agent(
        model=model,
        store=store,
        chaining=chaining,
        tools=[get_weather, get_time],
        instructions="Answer briefly.",
    )
    first = await bot.run(prompts[0])
    saved = first.conversation.to_json()
    second = await bot.run(prompts[1], conversation=Conversation.from_json(saved))

    assert first.output.startswith(
        "Here is what the tools returned: get_weather returned sunny in Paris"
    )
    assert second.output.startswith(
        "Here is what the tools returned: get_weather returned sunny in Rome"
    )
    assert second.output.count(" returned ") == calls
    assert second.conversation.items[: len(first.conversation.items)] == first.conversation.items
    check_bodies(
        server.requests, first, second, store=store, chaining=chaining, model=model, calls=calls
    )


def test_stateless_agent_cannot_chain_by_response_id() -> None:
    with pytest.raises(ConfigurationError, match="needs store=True"):
        Agent(model="gpt-4o", store=False, chaining="previous_response_id")


def test_unknown_chaining_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="chaining must be"):
        Agent(model="gpt-4o", chaining="server")  # type: ignore[arg-type]


def test_chaining_defaults_follow_store() -> None:
    assert Agent(model="gpt-4o").chaining == "previous_response_id"
    assert Agent(model="gpt-4o", store=False).chaining == "items"


@pytest.mark.parametrize("model", ["gpt-4o", "o4-mini"])
async def test_lost_chain_is_recovered_by_resending_the_transcript(
    server: LocalServer, agent: AgentFactory, client: openai.AsyncOpenAI, model: str
) -> None:
    bot = agent(model=model, tools=[get_weather])
    first = await bot.run("weather in Paris")
    await client.responses.delete(first.last_response_id or "")
    server.state.requests.clear()

    with pytest.warns(ChainRecoveryWarning, match=f"{first.last_response_id} is no longer stored"):
        second = await bot.run("weather in Rome", conversation=first.conversation)

    assert second.output == "Here is what the tools returned: get_weather returned sunny in Rome."
    lost, recovery, chained = server.requests
    assert lost["previous_response_id"] == first.last_response_id
    assert "previous_response_id" not in recovery
    kept = [i for i in first.conversation.items if i["type"] != "reasoning"]  # no encrypted content
    assert recovery["input"][:-1] == [
        {
            k: v
            for k, v in item.items()
            if not (model == "o4-mini" and k == "id" and is_model_output(item))
        }
        for item in kept
    ]
    assert recovery["input"][-1] == lost["input"][-1]
    assert chained["previous_response_id"] == second.response_ids[0]
    assert [i["type"] for i in chained["input"]] == ["function_call_output"]
    assert len(second.response_ids) == 2


async def test_chain_recovery_happens_once(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    from agentkit.server.plan import Fail

    conversation = Conversation(
        items=[
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
        ],
        last_response_id="resp_gone",
        synced=1,
    )
    scripted.scripted.queue(
        Fail(400, "still gone", type="invalid_request_error", code="previous_response_not_found")
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ModelCallError) as error:
            await scripted_agent().run("again", conversation=conversation)
    assert [w.category for w in caught] == [ChainRecoveryWarning]
    assert error.value.code == "previous_response_not_found"
    assert len(scripted.requests) == 2


async def test_settings_and_extra_body_are_sent(server: LocalServer, agent: AgentFactory) -> None:
    settings = ModelSettings(
        temperature=0.2,
        top_p=0.9,
        max_output_tokens=500,
        # gpt-5.1 takes temperature and top_p only at effort "none" (docs/server.md, "Models").
        reasoning_effort="none",
        reasoning_summary="concise",
        tool_choice="get_weather",
        parallel_tool_calls=False,
        truncation="auto",
        metadata={"team": "a"},
        extra_body={"user": "u-1", "include": ["message.output_text.logprobs"]},
    )
    bot = agent(model="gpt-5.1", store=False, tools=[get_weather], settings=settings, max_turns=1)
    with pytest.raises(MaxTurnsExceeded):  # a forced tool is called on every turn
        await bot.run("hi")

    (body,) = server.requests
    assert {k: v for k, v in body.items() if k not in ("input", "tools")} == {
        "model": "gpt-5.1",
        "store": False,
        "temperature": 0.2,
        "top_p": 0.9,
        "max_output_tokens": 500,
        "reasoning": {"effort": "none", "summary": "concise"},
        "tool_choice": {"type": "function", "name": "get_weather"},
        "parallel_tool_calls": False,
        "truncation": "auto",
        "metadata": {"team": "a"},
        "user": "u-1",
        "include": ["message.output_text.logprobs", ENCRYPTED],
    }


def test_clone_chooses_default_chaining_again() -> None:
    stateless = Agent(model="gpt-4o", store=False)
    assert stateless.chaining == "items"
    assert stateless.clone(store=True).chaining == "previous_response_id"
    pinned = Agent(model="gpt-4o", chaining="items")
    assert pinned.clone(model="o4-mini").chaining == "items"
