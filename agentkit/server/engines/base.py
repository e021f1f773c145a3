"""What an engine is: given the model's context, decide the output items."""

from __future__ import annotations

from typing import Protocol

from agentkit.server.plan import Planned, Turn


class Engine(Protocol):
    """Plays the model: returns the output plan for one turn, or raises `APIError`."""

    name: str

    async def respond(self, turn: Turn) -> list[Planned]: ...
