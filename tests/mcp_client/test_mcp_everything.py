"""The reference `@modelcontextprotocol/server-everything` (npm) over stdio, through an Agent.

Its tools are offered to the local server under their own names (`get-sum` is a valid function
name, so it is kept) and its answers come back as function outputs. Skips when `./dev setup`
could not install it (no node or npm).
"""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest
from mcp_servers import no_new_servers, server_pids
from mcp_testing import everything_entry

from agentkit import Agent
from agentkit.server import LocalServer
from agentkit.server.engines import Call, Say
from agentkit.tools import MCPServerStdio
from agentkit.tools.mcp.names import function_name

# What the pinned version (see ./dev) lists, in its order.
LISTED = [
    "echo",
    "get-annotated-message",
    "get-env",
    "get-resource-links",
    "get-resource-reference",
    "get-structured-content",
    "get-sum",
    "get-tiny-image",
    "gzip-file-as-resource",
    "toggle-simulated-logging",
    "toggle-subscriber-updates",
    "trigger-long-running-operation",
    "simulate-research-query",
]
BOUND = 20  # seconds; node starts in well under one


@pytest.fixture
def everything() -> tuple[MCPServerStdio, str]:
    """The stdio server, and what marks its process's command line."""
    node, entry = everything_entry()
    return MCPServerStdio(node, args=[str(entry), "stdio"], name="everything"), str(entry)


def outputs(items: list[dict[str, Any]]) -> list[str]:
    return [item["output"] for item in items if item["type"] == "function_call_output"]


async def test_its_tools_are_offered_under_their_names_and_answer(
    scripted: LocalServer,
    scripted_client: openai.AsyncOpenAI,
    everything: tuple[MCPServerStdio, str],
) -> None:
    server, marker = everything
    scripted.scripted.queue(
        [
            Call("echo", '{"message": "hello"}'),
            Call("get-sum", '{"a": 2, "b": 3.5}'),
            Call("get-structured-content", '{"location": "Chicago"}'),
        ],
        Say("done"),
    )
    agent = Agent(model="gpt-4o", client=scripted_client, tools=[server])

    with no_new_servers(marker):
        async with asyncio.timeout(BOUND):
            result = await agent.run("go")

    offered = scripted.requests[0]["tools"]
    assert [t["name"] for t in offered] == LISTED == [function_name(n) for n in LISTED]
    assert all(t["type"] == "function" and t["strict"] for t in offered)
    assert result.output == "done"
    assert outputs(result.new_items) == [
        "Echo: hello",
        "The sum of 2 and 3.5 is 5.5.",
        '{"temperature":36,"conditions":"Light rain / drizzle","humidity":82}',
    ]
    assert outputs(scripted.requests[1]["input"]) == outputs(result.new_items)  # sent back


async def test_an_agent_block_keeps_one_process_and_ends_it(
    scripted: LocalServer,
    scripted_client: openai.AsyncOpenAI,
    everything: tuple[MCPServerStdio, str],
) -> None:
    server, marker = everything
    echo = Call("echo", '{"message": "again"}')
    scripted.scripted.queue(echo, Say("one"), echo, Say("two"))
    agent = Agent(model="gpt-4o", client=scripted_client, tools=[server])

    with no_new_servers(marker):
        async with asyncio.timeout(BOUND), agent:
            (pid,) = server_pids(marker)
            first = await agent.run("first")
            second = await agent.run("second")
            assert server_pids(marker) == {pid}

    assert (first.output, second.output) == ("one", "two")
    assert outputs(second.new_items) == ["Echo: again"]
