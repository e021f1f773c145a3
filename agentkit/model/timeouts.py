"""How long a model call may take: connecting, waiting for an answer, a silent stream, in all."""

from __future__ import annotations

from dataclasses import dataclass

import httpx2

__all__ = ["Timeouts"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeouts:
    """Deadlines for model calls (seconds; `None` waits forever).

    Args:
        connect: Opening a connection to the endpoint.
        read: The longest wait for the next bytes of an answer: for a non-streamed call that
            is the whole generation, for a foreground stream the gap between two events.
        stall: The longest silence on a *background* stream before agentkit reconnects with
            `starting_after` (cheap and safe: the response keeps running on the service).
        total: A foreground model call's whole time, every retry included. Background calls
            are not bounded by it: they are resumable and may legitimately run for long.
    """

    connect: float | None = 10.0
    read: float | None = 300.0
    stall: float | None = 60.0
    total: float | None = 600.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "stall", "total"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"Timeouts.{name} must be positive or None, not {value!r}")

    def http(self, *, streaming_background: bool = False) -> httpx2.Timeout:
        """The per-request HTTP timeout: `stall` bounds reads of a background stream."""
        read = self.stall if streaming_background else self.read
        return httpx2.Timeout(connect=self.connect, read=read, write=self.read, pool=self.connect)
