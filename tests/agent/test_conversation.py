"""Conversation and RunState as JSON: round trips, version checks, and never a secret."""

from __future__ import annotations

import json

import pytest

from agentkit import (
    Agent,
    Conversation,
    MaxTurnsExceeded,
    ModelSettings,
    RunState,
    UserError,
    tool,
)
from agentkit.server import LocalServer

from .conftest import local_client

SECRET = "sk-secret-123"


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


async def test_conversation_round_trips_through_json(server: LocalServer) -> None:
    async with local_client(server) as client:
        result = await Agent(model="o4-mini", store=False, tools=[get_weather], client=client).run(
            "weather in Paris"
        )
    text = result.conversation.to_json()
    restored = Conversation.from_json(text)

    assert restored == result.conversation
    assert restored.to_json() == text
    assert json.loads(text)["format"] == 1
    assert Conversation.from_json(text.encode()) == restored


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"format": 99, "items": []}',
            "Conversation format 99 is not supported (this agentkit reads format 1).",
        ),
        ('{"items": []}', "Conversation format None is not supported"),
        ("[]", "Conversation JSON must be an object."),
        ("{not json", "Conversation JSON could not be parsed"),
        ('{"format": 1, "items": {}}', "Conversation 'items' must be a list of objects."),
        ('{"format": 1, "items": [], "synced": 3, "last_response_id": "r"}', "'synced' must count"),
        (
            '{"format": 1, "items": [], "last_response_id": 5}',
            "'last_response_id' must be a string",
        ),
    ],
)
def test_bad_conversation_json_is_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        Conversation.from_json(text)
    assert message in str(caught.value)


def test_a_run_state_given_as_a_conversation_says_so() -> None:
    state = RunState.begin(None, [{"type": "message", "role": "user", "content": "hi"}])
    with pytest.raises(UserError, match=r"This is a RunState, not a Conversation: load it with"):
        Conversation.from_json(state.to_json())
    assert RunState.from_json(state.to_json()).conversation == state.conversation


def test_unknown_run_state_version_is_refused() -> None:
    with pytest.raises(UserError, match="RunState format 7 is not supported"):
        RunState.from_json('{"format": 7}')


async def test_no_secret_in_conversation_or_run_state(server: LocalServer) -> None:
    async with local_client(server, api_key=SECRET) as client:
        agent = Agent(
            model="gpt-4o",
            tools=[get_weather],
            client=client,
            settings=ModelSettings(extra_headers={"x-api-key": SECRET}),
            max_turns=1,
        )
        result = await agent.clone(max_turns=3).run("weather in Paris")
        with pytest.raises(MaxTurnsExceeded) as caught:
            await agent.run("weather in Oslo", conversation=result.conversation)

    state = caught.value.state
    assert SECRET not in result.conversation.to_json()
    assert SECRET not in state.to_json()
    assert SECRET not in repr(state)
    assert "sunny in Oslo" in state.to_json()  # the state holds the run, just not the key
