"""MCP servers through an Agent against the local Responses server: tools, routing, lifecycle."""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import openai
import pytest
from mcp_servers import (
    ODD_NAME,
    PHOTO_PNG,
    TOKEN,
    HTTPServer,
    no_new_servers,
    server_pids,
    time_server,
)

from agentkit import Agent, ToolCallStarted, tool
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Say
from agentkit.tools import MCPConnectionError, MCPServerHTTP
from agentkit.tools.mcp.names import function_name


def http(mcp_http: HTTPServer, **options: Any) -> MCPServerHTTP:
    return MCPServerHTTP(mcp_http.url, name="local", headers={"Authorization": TOKEN}, **options)


def outputs(items: list[dict[str, Any]]) -> list[str]:
    return [item["output"] for item in items if item["type"] == "function_call_output"]


async def test_the_model_calls_an_mcp_tool_and_quotes_its_output(
    server: LocalServer, auto_client: openai.AsyncOpenAI
) -> None:
    agent = Agent(
        model="gpt-4o",
        client=auto_client,
        tools=[time_server(allowed_tools=["get_current_time"])],
    )

    with no_new_servers():
        result = await agent.run('What is the current time in "Europe/Paris"?')

    call = result.new_items[1]
    assert (call["type"], call["name"]) == ("function_call", "get_current_time")
    assert json.loads(call["arguments"]) == {"timezone": "Europe/Paris"}
    (output,) = outputs(result.new_items)
    assert json.loads(output)["timezone"] == "Europe/Paris"
    assert result.output == f"Here is what the tools returned: get_current_time returned {output}."
    (param,) = server.requests[0]["tools"]
    assert (param["name"], param["strict"]) == ("get_current_time", True)


async def test_odd_names_errors_and_structured_results_in_one_run_without_leaking_headers(
    scripted: LocalServer, scripted_client: openai.AsyncOpenAI, mcp_http: HTTPServer
) -> None:
    odd = function_name(ODD_NAME)
    scripted.scripted.queue(
        [
            Call(odd, '{"city": "Rome", "days": null}'),
            Call("explode"),
            Call("make_point", '{"x": 3, "y": 4}'),
            Call("whoami"),
        ],
        Say("done"),
    )
    agent = Agent(model="gpt-4o", client=scripted_client, tools=[http(mcp_http)])

    result = await agent.run("go")

    assert result.output == "done"
    assert outputs(result.new_items) == [
        "forecast for Rome: sunny for 1 day(s)",
        "Error: Error executing tool explode",
        '{"x":3,"y":4}',
        "authorization=***",  # whoami echoes the header it got: scrubbed before the model
    ]
    sent = json.dumps(scripted.requests)
    assert odd in sent and ODD_NAME not in sent
    assert TOKEN.split()[1] not in sent
    assert TOKEN.split()[1] not in result.conversation.to_json()
    assert TOKEN not in repr(agent)


async def test_clashing_names_are_prefixed_and_each_call_reaches_its_own_tool(
    scripted: LocalServer, scripted_client: openai.AsyncOpenAI, mcp_http: HTTPServer
) -> None:
    @tool
    def get_current_time(timezone: str) -> str:
        """The agent's own clock."""
        return f"local function in {timezone}"

    args = '{"timezone": "UTC"}'
    scripted.scripted.queue(
        [
            Call("get_current_time", args),
            Call("time_get_current_time", args),
            Call("local_get_current_time", args),
        ],
        Say("done"),
    )
    agent = Agent(
        model="gpt-4o",
        client=scripted_client,
        tools=[
            get_current_time,
            time_server(name="time", allowed_tools=["get_current_time"]),
            http(mcp_http, allowed_tools=["get_current_time"]),
        ],
    )

    with no_new_servers():
        result = await agent.run("go")

    names = [t["name"] for t in scripted.requests[0]["tools"]]
    assert names == ["get_current_time", "time_get_current_time", "local_get_current_time"]
    local, stdio, remote = outputs(result.new_items)
    assert local == "local function in UTC"
    assert json.loads(stdio)["timezone"] == "UTC"
    assert remote == "http time in UTC"


async def test_an_agent_block_connects_once_for_all_its_runs(
    scripted: LocalServer, scripted_client: openai.AsyncOpenAI
) -> None:
    call = Call("get_current_time", '{"timezone": "Asia/Tokyo"}')
    scripted.scripted.queue(call, Say("one"), call, Say("two"))
    agent = Agent(model="gpt-4o", client=scripted_client, tools=[time_server()])

    with no_new_servers():
        async with agent:
            (pid,) = server_pids()
            first = await agent.run("first")
            second = await agent.run("second")
            assert server_pids() == {pid}

    assert (first.output, second.output) == ("one", "two")
    assert json.loads(outputs(second.new_items)[0])["timezone"] == "Asia/Tokyo"


async def test_cancelling_a_run_mid_call_stops_the_stdio_server(
    scripted: LocalServer, scripted_client: openai.AsyncOpenAI, mcp_http: HTTPServer
) -> None:
    scripted.scripted.queue(Call("slow_task", '{"seconds": 30}'), Say("never"))
    agent = Agent(
        model="gpt-4o", client=scripted_client, tools=[time_server(), http(mcp_http, timeout=60)]
    )
    calling = asyncio.Event()

    async def consume() -> None:
        async for event in agent.stream("go"):
            if isinstance(event, ToolCallStarted):
                calling.set()

    with no_new_servers():
        task = asyncio.create_task(consume())
        await asyncio.wait_for(calling.wait(), 30)
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_cancelling_inside_an_agent_block_stops_the_server_when_the_block_ends(
    scripted: LocalServer, scripted_client: openai.AsyncOpenAI, mcp_http: HTTPServer
) -> None:
    scripted.scripted.queue(Call("slow_task", '{"seconds": 30}'), Say("never"))
    agent = Agent(
        model="gpt-4o", client=scripted_client, tools=[time_server(), http(mcp_http, timeout=60)]
    )

    with no_new_servers():
        async with agent:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(agent.run("go"), 1.0)
            assert len(server_pids()) == 1  # still connected for the rest of the block


async def test_an_abandoned_stream_closes_its_servers_from_another_task(
    scripted: LocalServer, scripted_client: openai.AsyncOpenAI
) -> None:
    scripted.scripted.queue(Call("get_current_time", '{"timezone": "UTC"}'), Say("done"))
    agent = Agent(model="gpt-4o", client=scripted_client, tools=[time_server()])

    with no_new_servers():
        async for event in agent.stream("go"):
            if isinstance(event, ToolCallStarted):
                break  # the generator is finalized later, in a task of the event loop's
        gc.collect()
        for _ in range(200):
            await asyncio.sleep(0.05)
            if not server_pids():
                break


def test_run_sync_connects_and_closes_in_its_own_event_loop(scripted: LocalServer) -> None:
    scripted.scripted.queue(Call("get_current_time", '{"timezone": "UTC"}'), Say("done"))
    client = openai.OpenAI(base_url=scripted.base_url, api_key="k")
    agent = Agent(model="gpt-4o", client=client, tools=[time_server()])

    with no_new_servers():
        result = agent.run_sync("go")

    assert result.output == "done"
    assert json.loads(outputs(result.new_items)[0])["timezone"] == "UTC"


async def test_a_server_that_cannot_connect_fails_the_run_before_any_model_call(
    scripted: LocalServer, scripted_client: openai.AsyncOpenAI
) -> None:
    agent = Agent(
        model="gpt-4o",
        client=scripted_client,
        tools=[MCPServerHTTP("http://127.0.0.1:9/mcp", headers={"Authorization": TOKEN})],
    )

    with pytest.raises(MCPConnectionError, match="127_0_0_1") as raised:
        await agent.run("go")

    assert TOKEN not in str(raised.value)
    assert scripted.requests == []


async def test_an_image_result_reaches_the_model_as_an_input_image(
    scripted: LocalServer, scripted_client: openai.AsyncOpenAI, mcp_http: HTTPServer
) -> None:
    scripted.scripted.queue(Call("photo"), Say("a teal picture"))
    agent = Agent(model="gpt-4o", client=scripted_client, tools=[http(mcp_http)])

    result = await agent.run("look")

    assert result.output == "a teal picture"
    [sent] = [i for i in scripted.requests[-1]["input"] if i["type"] == "function_call_output"]
    assert sent["output"] == [
        {"type": "input_text", "text": "a photo"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{PHOTO_PNG}"},
    ]
