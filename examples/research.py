"""Agents as tools: a lead agent asks two researchers, each an agent with its own model and
tools, at the same time, and sums up what they found.

Each call of a researcher's tool is a run of its own (its own conversation, model and tools);
the two run in parallel; their model calls count in the lead's usage.

Run it: `python examples/research.py`
"""

from __future__ import annotations

import asyncio
import contextlib

from agentkit import Agent, local_fallback, tool

searching: set[str] = set()
both_searching = asyncio.Event()


async def busy(name: str) -> None:
    """Pretend to search, waiting (at most 5 s) until the other researcher searches too."""
    searching.add(name)
    if len(searching) == 2:
        both_searching.set()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5):
            await both_searching.wait()


@tool
async def search_papers(topic: str) -> str:
    """Search research papers on a topic."""
    await busy("papers")
    return f"3 papers on {topic}"


@tool
async def search_reports(topic: str) -> str:
    """Search market reports on a topic."""
    await busy("market")
    return f"2 reports on {topic}"


papers = Agent(
    name="papers",
    description="Finds research papers.",
    model="o4-mini",
    instructions="Find papers.",
    tools=[search_papers],
)
market = Agent(
    name="market",
    description="Finds market reports.",
    model="gpt-4o-mini",
    instructions="Find market reports.",
    tools=[search_reports],
)
lead = Agent(
    name="lead",
    model="gpt-4o",
    instructions="Ask your researchers, then sum up.",
    tools=[papers.as_tool(), market.as_tool()],
)


async def main() -> None:
    question = 'Ask papers "search papers on Lithium" and market "search reports on Cobalt".'
    print(f"user: {question}")
    result = await lead.run(question)
    print(f"lead: {result.output}")
    print(f"both researchers searched at the same time: {both_searching.is_set()}")
    print(f"model calls: {result.usage.requests} (2 by the lead, 2 by each researcher)")


if __name__ == "__main__":
    if local_fallback():
        print("(no endpoint configured: agentkit's embedded local server answers)")
    asyncio.run(main())
