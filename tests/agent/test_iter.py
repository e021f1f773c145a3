"""Agent.iter: a run stepped node by node, stopped between nodes and resumed; stream_sync."""

from __future__ import annotations

import sys
from typing import Any

import openai
import pytest
from mcp_testing import TIME_SERVER_MODULE

from agentkit import (
    Agent,
    AgentRun,
    ApprovalRequested,
    End,
    FinalResult,
    MCPServerStdio,
    ModelResponse,
    ResponseCompleted,
    RunEvent,
    RunNode,
    TextDelta,
    ToolCallStarted,
    ToolResult,
    ToolsRan,
    UserError,
    approve,
    tool,
)
from agentkit.checkpoints import MemoryCheckpoints
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Say

from .conftest import AgentFactory
from .test_streaming import kinds

ran: list[str] = []


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    ran.append(city)
    return f"sunny in {city}"


@tool(needs_approval=True)
def delete_file(path: str) -> str:
    """Delete a file."""
    ran.append(f"deleted {path}")
    return f"deleted {path}"


PARIS = Call("get_weather", '{"city": "Paris"}', call_id="call_paris")


@pytest.fixture(autouse=True)
def clear_ran() -> None:
    ran.clear()


async def nodes_of(run: AgentRun[Any]) -> list[RunNode[Any]]:
    return [node async for node in run]


async def test_nodes_follow_the_loop_and_end_with_the_result(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(PARIS, Say("It is sunny."))
    async with scripted_agent(tools=[get_weather]).iter("weather?") as run:
        nodes = await nodes_of(run)

    assert [type(n) for n in nodes] == [ModelResponse, ToolsRan, ModelResponse, End]
    first, tools, answer, end = nodes
    assert isinstance(first, ModelResponse) and isinstance(tools, ToolsRan)
    assert isinstance(answer, ModelResponse) and isinstance(end, End)
    assert (first.turn, first.final, first.agent) == (1, False, "agent")
    assert [c["call_id"] for c in first.tool_calls] == ["call_paris"]
    assert first.approvals == []
    assert tools.results == [ToolResult("call_paris", "get_weather", "sunny in Paris")]
    assert (answer.turn, answer.final, answer.tool_calls) == (2, True, [])
    assert answer.output[-1]["content"][0]["text"] == "It is sunny."
    assert end.result.output == "It is sunny." and run.result is end.result
    assert run.state is end.result.state and run.state.finished
    assert [first.response_id, answer.response_id] == end.result.response_ids


async def test_the_nodes_events_are_the_streams_events(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    agent = scripted_agent(tools=[get_weather])
    scripted.scripted.queue(PARIS, Say("It is sunny."))
    async with agent.iter("weather?") as run:
        stepped = [event for node in await nodes_of(run) for event in node.events]
    scripted.scripted.queue(PARIS, Say("It is sunny."))
    streamed = [event async for event in agent.stream("weather?")]

    def shape(events: list[RunEvent]) -> list[str]:
        return [type(e).__name__ for e in events if not isinstance(e, TextDelta)]

    assert shape(stepped) == shape(streamed)
    assert shape(stepped) == [
        "ResponseCompleted",
        "ToolCallStarted",
        "ToolResult",
        "ResponseCompleted",
        "FinalResult",
    ]


async def test_stopping_before_the_tools_run_then_resuming_runs_them(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    agent = scripted_agent(tools=[get_weather])
    store = MemoryCheckpoints()
    scripted.scripted.queue(PARIS, Say("It is sunny."))
    async with agent.iter("weather?", run_id="r1", checkpoints=store) as run:
        node = await run.next()
        assert isinstance(node, ModelResponse) and node.tool_calls
        state = await run.stop()

    assert ran == []  # the model asked for the call; it never ran
    assert state is not None and state.status == "cancelled"
    saved = await store.load("r1")
    assert saved is not None and saved["status"] == "cancelled"
    with pytest.raises(StopAsyncIteration):
        await run.next()

    result = await agent.resume("r1", checkpoints=store)
    assert ran == ["Paris"]
    assert result.output == "It is sunny."
    assert len(scripted.requests) == 2  # the stopped call was not made again


async def test_leaving_the_block_early_stops_the_run_resumably(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    agent = scripted_agent(tools=[get_weather])
    scripted.scripted.queue(PARIS, Say("It is sunny."))
    async with agent.iter("weather?") as run:
        async for node in run:
            if isinstance(node, ToolsRan):
                break

    assert ran == ["Paris"] and run.result is None
    assert run.state is not None and run.state.status == "cancelled"
    result = await agent.resume(run.state)
    assert result.output == "It is sunny." and ran == ["Paris"]


async def test_an_approval_asked_at_a_stopped_step_is_asked_on_resume(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    agent = scripted_agent(tools=[delete_file])
    scripted.scripted.queue(Call("delete_file", '{"path": "a.txt"}', call_id="call_del"))
    async with agent.iter("delete a.txt") as run:
        node = await run.next()
        assert isinstance(node, ModelResponse)
        assert [r.id for r in node.approvals] == ["call_del"]
        assert isinstance(node.events[-1], ApprovalRequested)
        state = await run.stop()
    assert ran == [] and state is not None

    scripted.scripted.queue(Say("Deleted."))
    resumed = await agent.clone(approval=lambda request: approve()).resume(state)
    assert resumed.output == "Deleted." and ran == ["deleted a.txt"]


async def test_a_paused_run_ends_with_a_paused_result(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(Call("delete_file", '{"path": "a.txt"}', call_id="call_del"))
    async with scripted_agent(tools=[delete_file]).iter("delete a.txt") as run:
        nodes = await nodes_of(run)
    assert [type(n) for n in nodes] == [ModelResponse, End]
    end = nodes[-1]
    assert isinstance(end, End) and end.result.paused
    assert [r.id for r in end.result.pending_approvals] == ["call_del"]


async def test_a_handoff_shows_in_the_next_nodes_agent(
    scripted: LocalServer, scripted_aclient: openai.AsyncOpenAI
) -> None:
    billing = Agent(model="gpt-4o", name="billing", client=scripted_aclient)
    triage = Agent(model="gpt-4o", name="triage", client=scripted_aclient, handoffs=[billing])
    scripted.scripted.queue(Call("transfer_to_billing", "{}"), Say("Billing here."))
    async with triage.iter("a billing question") as run:
        nodes = await nodes_of(run)
    agents = [n.agent for n in nodes if isinstance(n, ModelResponse | ToolsRan)]
    assert agents == ["triage", "triage", "billing"]
    assert isinstance(nodes[-1], End) and nodes[-1].result.agent == "billing"


async def test_a_failed_run_raises_from_next_and_stops(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(PARIS, PARIS)
    async with scripted_agent(tools=[get_weather], max_turns=2).iter("weather?") as run:
        with pytest.raises(Exception, match="max_turns=2") as raised:
            await nodes_of(run)
    assert raised.value.state.status == "failed"  # type: ignore[attr-defined]
    with pytest.raises(StopAsyncIteration):
        await run.next()


async def test_stopping_before_the_first_step_does_nothing(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    run = scripted_agent(tools=[get_weather]).iter("weather?")
    assert await run.stop() is None
    assert scripted.requests == []


# --- stream_sync -----------------------------------------------------------------------------


def test_stream_sync_yields_the_streams_events(scripted: LocalServer) -> None:
    agent = Agent(model="gpt-4o", tools=[get_weather], client=_sync_client(scripted))
    scripted.scripted.queue(PARIS, Say("It is sunny."))
    events = list(agent.stream_sync("weather?"))

    assert kinds(events) == [
        "ResponseCompleted",
        "ToolCallStarted",
        "ToolResult",
        "TextDelta",
        "ResponseCompleted",
        "FinalResult",
    ]
    final = events[-1]
    assert isinstance(final, FinalResult) and final.result.output == "It is sunny."
    assert "".join(e.delta for e in events if isinstance(e, TextDelta)) == "It is sunny."


def test_stream_sync_left_early_stops_the_run(scripted: LocalServer) -> None:
    agent = Agent(model="gpt-4o", tools=[get_weather], client=_sync_client(scripted))
    scripted.scripted.queue(PARIS, Say("It is sunny."))
    for event in agent.stream_sync("weather?"):
        if isinstance(event, ResponseCompleted):
            break
    assert ran == []
    assert len(scripted.requests) == 1


def test_stream_sync_raises_the_runs_error(scripted: LocalServer) -> None:
    agent = Agent(model="gpt-4o", tools=[get_weather], client=_sync_client(scripted), max_turns=1)
    scripted.scripted.queue(PARIS)
    with pytest.raises(Exception, match="max_turns=1"):
        list(agent.stream_sync("weather?"))


async def test_stream_sync_fails_fast_inside_a_running_loop(scripted: LocalServer) -> None:
    agent = Agent(model="gpt-4o", client=_sync_client(scripted))
    with pytest.raises(UserError, match=r"stream_sync\(\) was called inside a running event"):
        agent.stream_sync("hi")
    assert scripted.requests == []


def test_stream_sync_runs_mcp_servers_in_one_task(server: LocalServer) -> None:
    """An MCP session (anyio) is opened and closed by the same task, also when left early."""
    time = MCPServerStdio(sys.executable, args=["-m", TIME_SERVER_MODULE])
    agent = Agent(model="gpt-4o", tools=[time], client=_sync_client(server))
    prompt = 'What is the current time in "Europe/Paris"?'
    events = list(agent.stream_sync(prompt))
    assert next(e.name for e in events if isinstance(e, ToolCallStarted)) == "get_current_time"
    assert isinstance(events[-1], FinalResult)
    for event in agent.stream_sync(prompt):
        if isinstance(event, ToolCallStarted):
            break


def _sync_client(server: LocalServer) -> openai.AsyncOpenAI:
    """A client that `stream_sync` copies for its own loop (as it does a user's)."""
    return openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
