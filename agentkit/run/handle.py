"""A run going on in its own task: await it for the result, or cancel it."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any, Generic

from typing_extensions import TypeVar

from agentkit.errors import RunCancelled
from agentkit.run.result import RunResult
from agentkit.run.state import RunState

OutputT = TypeVar("OutputT", default=Any)


class StateBox:
    """Where a run leaves its state object as soon as it has one (read by its handle)."""

    state: RunState | None = None


class RunHandle(Generic[OutputT]):
    """`handle = agent.start(...)`: the run goes on while the caller does other things.

    `await handle` (or `await handle.result()`) gives the `RunResult`; `await handle.cancel()`
    stops the run — its background response is cancelled on the service — and the result
    then raises `RunCancelled` carrying the state, which `agent.resume` continues.
    """

    def __init__(self, task: asyncio.Task[RunResult[OutputT]], box: StateBox) -> None:
        self._task = task
        self._box = box
        self._cancelled = False

    @property
    def state(self) -> RunState | None:
        """The run's state as it is now (None before the run has begun)."""
        return self._box.state

    def done(self) -> bool:
        return self._task.done()

    async def result(self) -> RunResult[OutputT]:
        """The run's result; `RunCancelled` if `cancel()` stopped it."""
        try:
            return await asyncio.shield(self._task)
        except asyncio.CancelledError:
            if self._cancelled and self._task.cancelled():
                raise RunCancelled("The run was cancelled.", state=self._box.state) from None
            raise

    async def cancel(self) -> RunState | None:
        """Stop the run and wait until it has stopped; its state (status `cancelled`)."""
        if not self._task.done():
            self._cancelled = True
            self._task.cancel()
        await asyncio.wait([self._task])
        return self._box.state

    def __await__(self) -> Generator[Any, None, RunResult[OutputT]]:
        return self.result().__await__()
