"""Agent configuration rules: forced tool choice, approvals not yet supported, run_sync clients."""

from __future__ import annotations

import json

import openai

from agentkit import Agent, ModelSettings, tool
from agentkit.server import LocalServer


@tool
def get_weather(city: str) -> str:
    """Weather for a city."""
    return json.dumps({"city": city, "temperature_c": 21})


def test_forced_tool_choice_applies_to_the_first_call_only(server: LocalServer) -> None:
    agent = Agent(
        model="gpt-4o",
        tools=[get_weather],
        settings=ModelSettings(tool_choice="get_weather"),
        client=openai.OpenAI(base_url=server.base_url, api_key="k"),
    )
    result = agent.run_sync("Hello there")
    assert result.output.startswith("Here is what the tools returned: get_weather returned")
    choices = [body["tool_choice"] for body in server.requests]
    assert choices == [{"type": "function", "name": "get_weather"}, "auto"]


def test_run_sync_twice_with_a_users_async_client(server: LocalServer) -> None:
    user_client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k")
    agent = Agent(model="gpt-4o", client=user_client)
    first = agent.run_sync("one")
    second = agent.run_sync("two", conversation=first.conversation)
    assert second.output.startswith('You said: "two".')
    assert not user_client.is_closed()
