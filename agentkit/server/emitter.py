"""Where a response's events go as they are made: paced, then handed to the response's log."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from agentkit.server.events import Event, item_events

PACED_SUFFIXES = (".delta", ".partial_image")
"""Events a pace applies to: the ones that carry a piece of an item as it is made."""
YIELD_EVERY = 16
"""Events sent before letting the connections that follow the response write them."""


class Emitter:
    """Sends events to a sink (None: nobody reads them), waiting `pace_ms` before each delta.

    A response made without a sink and without a pace builds no events at all: a plain JSON
    answer pays nothing for streaming.
    """

    def __init__(
        self,
        sink: Callable[[Event], Any] | None,
        *,
        obfuscate: bool = True,
        pace_ms: float = 0.0,
    ) -> None:
        self.sink = sink
        self.obfuscate = obfuscate
        self.pace_ms = pace_ms
        self._unyielded = 0

    @property
    def live(self) -> bool:
        """Whether events are worth building: someone reads them, or their pace is the point."""
        return self.sink is not None or self.pace_ms > 0

    async def send(self, event: Event) -> None:
        if self.pace_ms > 0 and event["type"].endswith(PACED_SUFFIXES):
            await asyncio.sleep(self.pace_ms / 1000)
            self._unyielded = 0
        if self.sink is not None:
            self.sink(event)
        self._unyielded += 1
        if self._unyielded >= YIELD_EVERY:
            # Without a pace nothing here suspends: let the connections write what was made.
            self._unyielded = 0
            await asyncio.sleep(0)

    async def item(self, index: int, item: dict[str, Any]) -> None:
        """Every event of a finished output item (text deltas word by word)."""
        if not self.live:
            return
        for event in item_events(index, item, self.obfuscate):
            await self.send(event)
