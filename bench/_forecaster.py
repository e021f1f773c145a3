"""The agent `bench/temporal.py` runs, in a module of its own so that workflows import it passed
through the sandbox: built once per process, not once per workflow run."""

from __future__ import annotations

import json

from agentkit import Agent, tool
from agentkit.temporal import TemporalAgent


@tool
async def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return json.dumps({"city": city, "temperature_c": 21})


agent = Agent(model="gpt-4o", tools=[get_weather])
forecaster = TemporalAgent(agent, name="forecaster")
