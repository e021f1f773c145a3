"""The checkpoint stores: saved states, and claims that let one process run a run at a time."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentkit import RunClaimed, UserError
from agentkit.checkpoints import Checkpoints, MemoryCheckpoints, Owner, SQLiteCheckpoints

STATE = {"format": 3, "run_id": "r1", "status": "running", "turn": 0}


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Checkpoints]:
    if request.param == "memory":
        yield MemoryCheckpoints()
        return
    sqlite = SQLiteCheckpoints(tmp_path / "runs.db")
    yield sqlite
    sqlite.close()


async def test_a_run_is_created_saved_and_loaded(store: Checkpoints) -> None:
    owner = Owner()
    await store.create("r1", STATE, owner)
    await store.save("r1", {**STATE, "turn": 3}, owner)
    assert await store.load("r1") == {**STATE, "turn": 3}
    assert await store.load("nope") is None


async def test_a_run_id_is_created_once(store: Checkpoints) -> None:
    await store.create("r1", STATE, Owner())
    with pytest.raises(UserError, match="already checkpointed"):
        await store.create("r1", STATE, Owner())


async def test_a_held_claim_refuses_another_owner(store: Checkpoints) -> None:
    first = Owner()
    await store.create("r1", STATE, first)
    with pytest.raises(RunClaimed, match="another process"):
        await store.claim("r1", Owner())
    with pytest.raises(RunClaimed):
        await store.save("r1", STATE, Owner())
    await store.release("r1", first)
    assert await store.claim("r1", Owner()) == STATE


async def test_an_expired_claim_is_taken_over(store: Checkpoints) -> None:
    await store.create("r1", STATE, Owner(lease=0.05))
    await asyncio.sleep(0.1)
    assert await store.claim("r1", Owner()) == STATE


async def test_a_claim_of_a_dead_process_on_this_host_is_taken_over_at_once(
    store: Checkpoints,
) -> None:
    dead = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await dead.wait()
    await store.create("r1", STATE, Owner(pid=dead.pid, lease=3600))
    assert await store.claim("r1", Owner()) == STATE


async def test_renewing_keeps_the_claim(store: Checkpoints) -> None:
    owner = Owner(lease=0.2)
    await store.create("r1", STATE, owner)
    await asyncio.sleep(0.1)
    await store.renew("r1", owner)
    await asyncio.sleep(0.15)
    with pytest.raises(RunClaimed):
        await store.claim("r1", Owner())


async def test_unknown_runs_are_refused_clearly(store: Checkpoints) -> None:
    with pytest.raises(UserError, match="no checkpointed run 'ghost'"):
        await store.claim("ghost", Owner())
    await store.delete("ghost")  # deleting nothing is fine


def test_two_stores_on_one_file_share_claims(tmp_path: Path) -> None:
    async def main() -> None:
        one, two = SQLiteCheckpoints(tmp_path / "runs.db"), SQLiteCheckpoints(tmp_path / "runs.db")
        await one.create("r1", STATE, Owner())
        with pytest.raises(RunClaimed):
            await two.claim("r1", Owner())
        one.close()
        two.close()

    asyncio.run(main())
