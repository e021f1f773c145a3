"""Where a run's state comes from, and where it goes after every step.

A new run begins a state from its input; a stopped `RunState` is claimed (resumed at most
once); a run id is claimed in the checkpoint store. With a store, every step is saved there,
the claim is renewed while the run goes on, and given up when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from agentkit.checkpoints.base import Checkpoints, Owner
from agentkit.errors import UserError
from agentkit.run.conversation import Conversation, Item
from agentkit.run.loop import RunSetup
from agentkit.run.request import to_items
from agentkit.run.state import RunState

log = logging.getLogger("agentkit")


@dataclass(frozen=True)
class RunId:
    """`Agent.resume("r1", checkpoints=...)`: a run to resume by its id in the store."""

    run_id: str


@dataclass(frozen=True)
class Start:
    """How a run starts: new input (with a conversation and maybe a run id) or a stopped run."""

    input: str | list[Item] | RunState | RunId
    conversation: Conversation | None
    run_id: str | None
    tools_hash: str


@contextlib.asynccontextmanager
async def begin(
    setup: RunSetup, start: Start, checkpoints: Checkpoints | None
) -> AsyncIterator[tuple[RunState, RunSetup]]:
    """The run's state and its setup (saving every step to `checkpoints`, if given)."""
    if isinstance(start.input, RunState | RunId) and start.conversation is not None:
        raise UserError("A resumed run continues its own conversation: pass no conversation=.")
    if checkpoints is None:
        async with _in_memory(start) as state:
            yield state, setup
        return
    owner = Owner()
    state = await _claimed(start, checkpoints, owner)

    async def save(current: RunState) -> None:
        await checkpoints.save(current.run_id, current.to_dict(), owner)

    renewing = asyncio.get_running_loop().create_task(_renew(checkpoints, state.run_id, owner))
    try:
        yield state, replace(setup, checkpoint=save, store=checkpoints)
    finally:
        renewing.cancel()
        await asyncio.shield(checkpoints.release(state.run_id, owner))


@contextlib.asynccontextmanager
async def _in_memory(start: Start) -> AsyncIterator[RunState]:
    """A state kept only in memory: a stopped one's claim is undone if nothing happened."""
    if isinstance(start.input, RunId):
        raise UserError("resume(run_id) needs the checkpoints= store the run was saved in.")
    if not isinstance(start.input, RunState):
        yield _new(start)
        return
    original = start.input
    state = original.claim(start.tools_hash)
    try:
        yield state
    except BaseException:
        if state.paused and state.pause_id == original.pause_id:
            original.unclaim()  # nothing ran or was sent yet: the pause stays resumable
        raise


def _new(start: Start) -> RunState:
    assert not isinstance(start.input, RunState | RunId)
    state = RunState.begin(start.conversation, to_items(start.input))
    if start.run_id is not None:
        state.run_id = start.run_id
    return state


async def _claimed(start: Start, checkpoints: Checkpoints, owner: Owner) -> RunState:
    """The state to run, created in the store or claimed there."""
    if isinstance(start.input, RunId):
        state = RunState.from_dict(await checkpoints.claim(start.input.run_id, owner))
        if state.status == "running":
            log.info("Resuming run %s from its last checkpoint.", state.run_id)
        elif state.status != "finished":
            state = _resumable(state).claim(start.tools_hash)
        return state
    if isinstance(start.input, RunState):
        state = start.input.claim(start.tools_hash)
        if await checkpoints.load(state.run_id) is None:
            await checkpoints.create(state.run_id, state.to_dict(), owner)
        else:  # another process running it is refused here
            await checkpoints.claim(state.run_id, owner)
            await checkpoints.save(state.run_id, state.to_dict(), owner)
        return state
    state = _new(start)
    await checkpoints.create(state.run_id, state.to_dict(), owner)
    return state


def _resumable(state: RunState) -> RunState:
    """A stopped state loaded from the store, resumable once more (its store holds the claim)."""
    state.stop(state.status)  # a fresh stop id: the process-wide resume-once guard is per stop
    return state


async def _renew(checkpoints: Checkpoints, run_id: str, owner: Owner) -> None:
    """Keep the run's claim while it runs (a long tool or model call saves nothing)."""
    while True:
        await asyncio.sleep(owner.lease / 3)
        try:
            await checkpoints.renew(run_id, owner)
        except Exception as error:  # the run itself fails at its next save
            log.warning("Could not renew the claim on run %s: %s", run_id, error)
