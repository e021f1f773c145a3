"""Long runs from the agent's side: resuming failed and cancelled runs, handles, idempotency
keys, checkpoints with approvals, and the typed errors a broken model call becomes."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from agentkit import (
    Agent,
    Background,
    ConfigurationError,
    ModelCallError,
    RetryPolicy,
    RunCancelled,
    RunContext,
    RunState,
    Timeouts,
    approve,
    tool,
)
from agentkit.checkpoints import MemoryCheckpoints
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Fail, Say

from .conftest import AgentFactory

ONCE = RetryPolicy(max_attempts=1)
keys: list[str] = []
gate = asyncio.Event()
waiting = asyncio.Event()


@tool
def remember(ctx: RunContext[None], note: str) -> str:
    """Remember a note."""
    keys.append(ctx.idempotency_key)
    return f"remembered {note}"


@tool
async def wait_for_gate(note: str) -> str:
    """Wait until the gate opens."""
    waiting.set()
    await gate.wait()
    return f"passed {note}"


@tool(needs_approval=True)
def launch(target: str) -> str:
    """Launch at a target."""
    return f"launched at {target}"


@pytest.fixture(autouse=True)
def _reset() -> None:
    global gate, waiting
    keys.clear()
    gate, waiting = asyncio.Event(), asyncio.Event()  # one pair per test's event loop


async def test_tools_get_an_idempotency_key_per_call(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(
        [
            Call("remember", '{"note": "a"}', call_id="call_a"),
            Call("remember", '{"note": "b"}', call_id="call_b"),
        ],
        Say("ok"),
    )
    result = await scripted_agent(tools=[remember]).run("remember", run_id="run-7")
    assert result.output == "ok"
    assert sorted(keys) == ["run-7:call_a", "run-7:call_b"]


async def test_a_failed_run_resumes_from_where_it_stopped(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(
        Call("remember", '{"note": "a"}', call_id="call_a"),
        Fail(400, "Something was refused.", type="invalid_request_error"),
        Say("Done after all."),
    )
    agent = scripted_agent(tools=[remember], retry=ONCE)
    with pytest.raises(ModelCallError) as caught:
        await agent.run("remember a")
    state = caught.value.state
    assert state.status == "failed" and state.turn == 1
    result = await agent.resume(RunState.from_json(state.to_json()))
    assert result.output == "Done after all."
    assert keys == [f"{state.run_id}:call_a"]  # the tool ran once
    assert len(scripted.requests) == 3


async def test_a_failed_state_resumes_once(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(Fail(400, "No.", type="invalid_request_error"), Say("Yes."))
    agent = scripted_agent(retry=ONCE)
    with pytest.raises(ModelCallError) as caught:
        await agent.run("hi")
    state = caught.value.state
    assert (await agent.resume(state)).output == "Yes."
    with pytest.raises(Exception, match="already resumed"):
        await agent.resume(state)


async def test_a_handle_cancels_a_run_and_the_state_resumes(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(
        Call("wait_for_gate", '{"note": "x"}', call_id="call_g"), Say("Through.")
    )
    agent = scripted_agent(tools=[wait_for_gate])
    handle = agent.start("go")
    await waiting.wait()
    state = await handle.cancel()
    with pytest.raises(RunCancelled) as caught:
        await handle
    assert caught.value.state is state
    assert state is not None and state.status == "cancelled"
    gate.set()
    result = await agent.resume(state)
    assert result.output == "Through."


async def test_a_run_paused_in_a_checkpoint_store_resumes_by_its_id(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(
        Call("launch", '{"target": "moon"}', call_id="call_l"), Say("Launched.")
    )
    store = MemoryCheckpoints()
    paused = await scripted_agent(tools=[launch]).run("launch", run_id="p1", checkpoints=store)
    assert paused.paused
    saved = await store.load("p1")
    assert saved is not None and saved["status"] == "paused"
    agent = scripted_agent(tools=[launch], approval=lambda request: approve())
    result = await agent.resume("p1", checkpoints=store)
    assert result.output == "Launched."
    finished = await store.load("p1")
    assert finished is not None and finished["status"] == "finished"


async def test_every_step_is_checkpointed(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(Call("remember", '{"note": "a"}', call_id="call_a"), Say("ok"))
    saved: list[dict[str, Any]] = []

    class Recording(MemoryCheckpoints):
        async def save(self, run_id: str, state: dict[str, Any], owner: Any) -> None:
            saved.append(copy.deepcopy(state))
            await super().save(run_id, state, owner)

    await scripted_agent(tools=[remember]).run("go", run_id="s1", checkpoints=Recording())
    steps = [
        (s["turn"], s["status"], len(s["conversation"]["items"]), sorted(s["tool_outputs"]))
        for s in saved
    ]
    assert steps == [
        (1, "running", 2, []),  # the model's tool call absorbed
        (1, "running", 2, ["call_a"]),  # the tool's output, as soon as it finished
        (1, "running", 3, []),  # the turn's outputs in the conversation
        (2, "running", 4, []),  # the final answer absorbed
        (2, "finished", 4, []),
    ]


def test_background_needs_store() -> None:
    with pytest.raises(ConfigurationError, match="background=True needs store=True"):
        Agent(model="gpt-4o", store=False, background=True)
    assert Agent(model="gpt-4o", background=Background(stream=False)).background


def test_timeouts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="stall"):
        Timeouts(stall=0)
