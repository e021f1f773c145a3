"""An activity's heartbeat: from a timer while it waits, always with its latest details.

Temporal sends the first heartbeat at once and throttles the rest, and keeps the last details
it got (also when the attempt fails) for the next attempt to read from `heartbeat_details`.
Details here are one small JSON object, never a secret: the details of an activity's last
attempt can be written into the workflow's history.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from temporalio import activity

Details = dict[str, Any]


class Heartbeat:
    """Keeps an activity alive and records `details()` with each beat."""

    def __init__(self, details: Callable[[], Details | None] = lambda: None) -> None:
        self.details = details
        timeout = activity.info().heartbeat_timeout
        self.interval = None if timeout is None else max(timeout.total_seconds() / 3, 0.05)
        self._ticking: asyncio.Task[None] | None = None

    @staticmethod
    def previous() -> Details:
        """The details the last attempt recorded ({} on a first attempt)."""
        found = activity.info().heartbeat_details
        return found[0] if found and isinstance(found[0], dict) else {}

    def beat(self) -> None:
        details = self.details()
        if details is None:
            activity.heartbeat()
        else:
            activity.heartbeat(details)

    @contextlib.asynccontextmanager
    async def running(self, *, timer: bool = True) -> AsyncIterator[Heartbeat]:
        """Beat every third of the heartbeat timeout while the block runs, the first time
        that long from now (a short activity never beats), or from `start()` when not `timer`."""
        try:
            if timer:
                self._start_timer()
            yield self
        finally:
            if self._ticking is not None:
                self._ticking.cancel()

    def start(self) -> None:
        """Beat now — the one beat Temporal never delays, for details that matter at once (a
        background response's id) — and from the timer after that."""
        self.beat()
        self._start_timer()

    def _start_timer(self) -> None:
        if self._ticking is None and self.interval is not None:
            self._ticking = asyncio.create_task(self._tick(self.interval))

    async def _tick(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.beat()
