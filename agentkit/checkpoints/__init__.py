"""Where run checkpoints live: a run's state after every step, so a crashed run resumes.

from agentkit.checkpoints import SQLiteCheckpoints

await agent.run("...", run_id="r1", checkpoints=SQLiteCheckpoints("runs.db"))
# after a crash, in any process on the host:
await agent.resume("r1", checkpoints=SQLiteCheckpoints("runs.db"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkit.checkpoints.base import DEFAULT_LEASE, Checkpoints, Claim, Owner, StateData
from agentkit.checkpoints.memory import MemoryCheckpoints

if TYPE_CHECKING:
    from agentkit.checkpoints.sqlite import SQLiteCheckpoints


def __getattr__(name: str) -> Any:
    if name == "SQLiteCheckpoints":  # sqlite3 is imported when the store is used
        from agentkit.checkpoints.sqlite import SQLiteCheckpoints

        return SQLiteCheckpoints
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_LEASE",
    "Checkpoints",
    "Claim",
    "MemoryCheckpoints",
    "Owner",
    "SQLiteCheckpoints",
    "StateData",
]
