"""A lead agent with two sub-agents as tools (papers, market), for the agent-as-tool tests and
their worker processes. `ARRIVALS` makes the sub-runs' tools wait for each other, so a test
fails if they do not run at the same time."""

from __future__ import annotations

import asyncio
from typing import Any

import openai

from agentkit import Agent, tool

ARRIVALS: dict[str, asyncio.Barrier] = {}


async def _meet() -> None:
    barrier = ARRIVALS.get("barrier")
    if barrier is not None:
        async with asyncio.timeout(10):
            await barrier.wait()


@tool
async def search_papers(topic: str) -> str:
    """Search research papers on a topic."""
    await _meet()
    return f"3 papers on {topic}"


@tool
async def search_reports(topic: str) -> str:
    """Search market reports on a topic."""
    await _meet()
    return f"2 reports on {topic}"


@tool(needs_approval=True)
def buy_report(topic: str) -> str:
    """Buy a market report (a person approves each purchase)."""
    return f"bought the report on {topic}"


def research_team(client: openai.AsyncOpenAI, **options: Any) -> Agent[Any]:
    papers = Agent(
        name="papers",
        description="Finds research papers.",
        model="o4-mini",
        instructions="Find papers.",
        tools=[search_papers],
        client=client,
        **options,
    )
    market = Agent(
        name="market",
        description="Finds and buys market reports.",
        model="gpt-4o-mini",
        instructions="Find market reports.",
        tools=[search_reports, buy_report],
        client=client,
        **options,
    )
    return Agent(
        name="lead",
        model="gpt-4o",
        instructions="Ask your researchers, then summarise.",
        tools=[papers.as_tool(), market.as_tool()],
        client=client,
        **options,
    )
