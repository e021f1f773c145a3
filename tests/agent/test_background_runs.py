"""Background runs end to end against `agentkit serve`: progress, drops, stalls, polls, cancel.

Every test counts the model calls created in the scripted server's request log: a background
call is created once, whatever happens to its connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from agentkit import (
    Background,
    BackgroundStatus,
    CodeInterpreter,
    FinalResult,
    HostedToolProgress,
    MalformedResponseError,
    ModelCallError,
    RetryPolicy,
    RunCancelled,
    RunEvent,
    TextDelta,
    Timeouts,
)
from agentkit.server import LocalServer
from agentkit.server.plan import Abort, Drop, Hold, Hosted, Malformed, Pace, Say, Stall, Wait

from .conftest import AgentFactory

FAST = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05, jitter=0)
ANSWER = "The quick brown fox jumps over the lazy dog."


async def eventually(condition: Callable[[], bool], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition never held")


def creates(server: LocalServer) -> list[dict[str, Any]]:
    return [body for body in server.requests if body.get("background")]


async def collect(events: Any) -> list[RunEvent]:
    return [event async for event in events]


def text(events: list[RunEvent]) -> str:
    return "".join(e.delta for e in events if isinstance(e, TextDelta))


def final(events: list[RunEvent]) -> Any:
    last = events[-1]
    assert isinstance(last, FinalResult)
    return last.result


async def test_a_background_run_streams_its_progress(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue([Hold(0.2), Pace(5), Say(ANSWER)])
    events = await collect(scripted_agent(background=True).stream("tell me"))
    statuses = [e.status for e in events if isinstance(e, BackgroundStatus)]
    assert statuses == ["queued", "in_progress"]
    assert text(events) == ANSWER
    assert final(events).output == ANSWER
    (body,) = creates(scripted)
    assert body["background"] is True and body["stream"] is True


async def test_a_dropped_stream_is_resumed_without_a_second_call(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue([Drop(after=6), Pace(5), Say(ANSWER)])
    events = await collect(scripted_agent(background=True).stream("tell me"))
    assert text(events) == ANSWER  # every delta once, in order
    assert final(events).output == ANSWER
    assert len(creates(scripted)) == 1


async def test_a_stalled_stream_is_resumed_instead_of_hanging(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue([Stall(after=5, seconds=30), Pace(5), Say(ANSWER)])
    agent = scripted_agent(background=True, timeouts=Timeouts(stall=0.5))
    events = await asyncio.wait_for(collect(agent.stream("tell me")), 20)
    assert text(events) == ANSWER
    assert len(creates(scripted)) == 1


async def test_a_polled_background_run_reports_its_status(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue([Hold(0.3), Wait(0.3), Say("Done polling.")])
    background = Background(stream=False, poll_interval=0.05, max_poll_interval=0.1)
    events = await collect(scripted_agent(background=background).stream("tell me"))
    assert [e.status for e in events if isinstance(e, BackgroundStatus)] == [
        "queued",
        "in_progress",
    ]
    assert final(events).output == "Done polling."
    (body,) = creates(scripted)
    assert "stream" not in body


async def test_run_and_run_sync_use_background_mode_too(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue([Drop(after=4), Say(ANSWER)])
    assert (await scripted_agent(background=True).run("tell me")).output == ANSWER
    assert len(creates(scripted)) == 1


async def test_a_mid_stream_failure_is_a_typed_error_with_the_state(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue([Say("Partial"), Abort("The model crashed.", code="server_error")])
    with pytest.raises(ModelCallError, match="The model crashed") as caught:
        await scripted_agent(background=True, retry=FAST).run("tell me")
    assert caught.value.code == "server_error"
    assert caught.value.state.status == "failed"
    assert caught.value.state.in_flight is None
    assert len(creates(scripted)) == 1


async def test_a_malformed_create_answer_with_hosted_tools_is_not_resent(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue([Malformed("html"), Say(ANSWER)])
    agent = scripted_agent(background=True, retry=FAST, tools=[CodeInterpreter()])
    with pytest.raises(MalformedResponseError):
        await agent.run("tell me")
    assert len(creates(scripted)) == 1


async def test_cancelling_a_run_cancels_its_background_response(
    scripted: LocalServer, scripted_agent: AgentFactory, scripted_aclient: Any
) -> None:
    scripted.scripted.queue([Say("Thinking..."), Wait(30), Say("too late")], Say("Resumed."))
    agent = scripted_agent(background=True)
    handle = agent.start("tell me")
    await eventually(lambda: handle.state is not None and handle.state.in_flight is not None)
    assert handle.state is not None and handle.state.in_flight is not None
    response_id = handle.state.in_flight.response_id
    state = await handle.cancel()
    with pytest.raises(RunCancelled):
        await handle
    stored = await scripted_aclient.responses.retrieve(response_id)
    assert stored.status == "cancelled"
    assert state is not None and state.status == "cancelled" and state.in_flight is None
    assert (await agent.resume(state)).output == "Resumed."
    assert len(creates(scripted)) == 2


async def test_hosted_tool_progress_is_streamed(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    cell = Hosted(
        "code_interpreter", options={"code": "import time; time.sleep(0.2); print(6 * 7)"}
    )
    scripted.scripted.queue([cell], Say("It is 42."))  # the model goes on after the cell
    agent = scripted_agent(background=True, tools=[CodeInterpreter()])
    events = await collect(agent.stream("compute"))
    progress = [(e.tool, e.status) for e in events if isinstance(e, HostedToolProgress)]
    assert progress == [
        ("code_interpreter_call", "in_progress"),
        ("code_interpreter_call", "interpreting"),
        ("code_interpreter_call", "completed"),
    ]
    assert final(events).output == "It is 42."
