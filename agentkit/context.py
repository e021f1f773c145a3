"""The run context that agentkit injects into tools that ask for it by type annotation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

DepsT = TypeVar("DepsT")


@dataclass
class RunContext(Generic[DepsT]):
    """What a tool knows about the run calling it: the user's dependencies and where the run is.

    A tool receives it by annotating one parameter as `RunContext[Deps]` (the name is free);
    the parameter never appears in the tool's schema.
    """

    deps: DepsT
    turn: int = 0
    model: str = ""
    run_id: str = ""
    call_id: str = ""
    """The tool call being run (empty outside a tool call)."""
    _run: Any = field(default=None, repr=False, compare=False)
    """The calling run's state, for an agent used as a tool (its sub-run pauses there)."""
    _store: Any = field(default=None, repr=False, compare=False)
    """The calling run's checkpoint store, for an agent used as a tool (its sub-run is saved
    there too)."""

    @property
    def idempotency_key(self) -> str:
        """A key for this tool call that stays the same when a crashed run is resumed and the
        call runs again, so a tool with side effects can recognise it already acted."""
        return f"{self.run_id}:{self.call_id}"
