"""Checkpoints kept in this process's memory: for tests, and runs that only need pause/resume."""

from __future__ import annotations

import asyncio
import copy
import time

from agentkit.checkpoints.base import Claim, Owner, StateData, existing_run, unknown_run


class MemoryCheckpoints:
    """A `Checkpoints` store in a dict (states are copied in and out, as a database would)."""

    def __init__(self) -> None:
        self._states: dict[str, StateData] = {}
        self._claims: dict[str, Claim] = {}
        self._lock = asyncio.Lock()

    async def create(self, run_id: str, state: StateData, owner: Owner) -> None:
        async with self._lock:
            if run_id in self._states:
                raise existing_run(run_id)
            self._states[run_id] = copy.deepcopy(state)
            self._claims[run_id] = _claim(owner)

    async def claim(self, run_id: str, owner: Owner) -> StateData:
        async with self._lock:
            if run_id not in self._states:
                raise unknown_run(run_id)
            self._take(run_id, owner)
            return copy.deepcopy(self._states[run_id])

    async def save(self, run_id: str, state: StateData, owner: Owner) -> None:
        async with self._lock:
            self._check(run_id, owner)
            self._states[run_id] = copy.deepcopy(state)
            self._claims[run_id] = _claim(owner)

    async def renew(self, run_id: str, owner: Owner) -> None:
        async with self._lock:
            self._check(run_id, owner)
            self._claims[run_id] = _claim(owner)

    async def release(self, run_id: str, owner: Owner) -> None:
        async with self._lock:
            held = self._claims.get(run_id)
            if held is not None and held.token == owner.token:
                del self._claims[run_id]

    async def load(self, run_id: str) -> StateData | None:
        async with self._lock:
            state = self._states.get(run_id)
            return None if state is None else copy.deepcopy(state)

    async def delete(self, run_id: str) -> None:
        async with self._lock:
            self._states.pop(run_id, None)
            self._claims.pop(run_id, None)

    def _take(self, run_id: str, owner: Owner) -> None:
        held = self._claims.get(run_id)
        if held is not None and held.token != owner.token and held.held():
            raise held.refused(run_id)
        self._claims[run_id] = _claim(owner)

    def _check(self, run_id: str, owner: Owner) -> None:
        if run_id not in self._states:
            raise unknown_run(run_id)
        held = self._claims.get(run_id)
        if held is None or held.token != owner.token:
            self._take(run_id, owner)


def _claim(owner: Owner) -> Claim:
    return Claim(owner.token, owner.host, owner.pid, time.time() + owner.lease)
