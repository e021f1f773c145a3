"""The run context that agentkit injects into tools that ask for it by type annotation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

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
