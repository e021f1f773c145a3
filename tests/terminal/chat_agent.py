"""An agent for the terminal tests: a plain tool, one that needs approval, background mode."""

from __future__ import annotations

from agentkit import Agent, ModelSettings, tool


@tool
def get_weather(city: str) -> dict[str, object]:
    """Current weather for a city.

    Args:
        city: The city's name.
    """
    return {"city": city, "temperature_c": 21}


@tool(needs_approval=True)
def delete_file(path: str) -> str:
    """Delete a file (asks first).

    Args:
        path: The file to delete.
    """
    return f"deleted {path}"


agent = Agent(
    model="o4-mini",  # a reasoning model: its summaries show dimmed
    instructions="Be brief.",
    tools=[get_weather, delete_file],
    settings=ModelSettings(reasoning_summary="auto"),
)
background_agent = agent.clone(background=True)


def make_agent() -> Agent[str]:
    return Agent(model="gpt-4o")


not_an_agent = 42
