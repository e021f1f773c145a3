"""What a checkpoint store is: saved run states, and a claim so one process runs a run at once."""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from agentkit.errors import RunClaimed, UserError

StateData = dict[str, Any]
DEFAULT_LEASE = 60.0
"""Seconds a claim lasts without being renewed; a running run renews it every third of that."""


@dataclass(frozen=True)
class Owner:
    """Who runs a run: this process (host and pid) and this run attempt (token)."""

    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    lease: float = DEFAULT_LEASE


@dataclass(frozen=True)
class Claim:
    """A run's claim as stored: its owner and until when it holds without renewal."""

    token: str
    host: str
    pid: int
    until: float

    def held(self, now: float | None = None) -> bool:
        """Whether the claim still holds: not expired, and its process alive where that can
        be told (on this host a dead pid frees it at once, e.g. after a SIGKILL)."""
        if (now if now is not None else time.time()) >= self.until:
            return False
        return self.host != socket.gethostname() or _alive(self.pid)

    def refused(self, run_id: str) -> RunClaimed:
        return RunClaimed(
            f"Run {run_id!r} is being run by another process (host {self.host}, pid "
            f"{self.pid}); its claim holds until {time.ctime(self.until)} unless renewed."
        )


class Checkpoints(Protocol):
    """Where run states are saved after every step, for `Agent.resume(run_id, ...)`.

    States are JSON-ready dicts (`RunState.to_dict()`); they never hold secrets. Every
    method but `load` checks or takes the run's claim, so two processes never run one run.
    """

    async def create(self, run_id: str, state: StateData, owner: Owner) -> None:
        """Save a new run's first state and claim it; `UserError` if `run_id` exists."""
        ...

    async def claim(self, run_id: str, owner: Owner) -> StateData:
        """Claim a saved run for `owner` and return its state; `RunClaimed` if another
        process holds it, `UserError` if there is no such run."""
        ...

    async def save(self, run_id: str, state: StateData, owner: Owner) -> None:
        """Replace the run's state and renew the claim; `RunClaimed` if the claim was lost."""
        ...

    async def renew(self, run_id: str, owner: Owner) -> None:
        """Renew the claim (a long step in progress); `RunClaimed` if it was lost."""
        ...

    async def release(self, run_id: str, owner: Owner) -> None:
        """Give the claim up (the run stopped: finished, paused, failed or cancelled)."""
        ...

    async def load(self, run_id: str) -> StateData | None:
        """The run's latest state, or None; does not claim it."""
        ...

    async def delete(self, run_id: str) -> None:
        """Forget the run."""
        ...


def unknown_run(run_id: str) -> UserError:
    return UserError(f"There is no checkpointed run {run_id!r} in this store.")


def existing_run(run_id: str) -> UserError:
    return UserError(
        f"A run {run_id!r} is already checkpointed in this store: resume it with "
        "agent.resume(run_id, checkpoints=...), or choose another run_id."
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
