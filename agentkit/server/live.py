"""A response's event log as it is made: numbered, kept, and followed by any number of readers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

Event = dict[str, Any]


class EventLog:
    """Events get their `sequence_number` here, in order; readers follow from any point.

    `persist` (the background store) writes each event before any reader sees it, so what a
    client saw is always what a resume after a crash replays.
    """

    def __init__(self, persist: Callable[[Event], None] | None = None) -> None:
        self.events: list[Event] = []
        self.closed = False
        self._persist = persist
        self._waiters: list[asyncio.Future[None]] = []

    def append(self, event: Event) -> Event:
        numbered = {"type": event["type"], "sequence_number": len(self.events), **event}
        if self._persist is not None:
            self._persist(numbered)
        self.events.append(numbered)
        self._wake()
        return numbered

    def close(self) -> None:
        """No more events: readers end once they have read the last one."""
        self.closed = True
        self._wake()

    async def follow(self, after: int = -1) -> AsyncIterator[Event]:
        """The events after sequence number `after`, then each new one until the log closes."""
        position = max(after + 1, 0)
        while True:
            while position < len(self.events):
                yield self.events[position]
                position += 1
            if self.closed:
                return
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


async def replay(events: list[Event]) -> AsyncIterator[Event]:
    """A finished response's stored events, read as a closed log is."""
    for event in events:
        yield event
