"""RunState: everything a run knows, as data that round-trips through JSON."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from agentkit.errors import UserError
from agentkit.model.usage import Usage
from agentkit.run.conversation import Conversation, Item

RUN_STATE_FORMAT = 1


@dataclass
class RunState:
    """A run in progress: the conversation, where this run's items start, and its counters."""

    conversation: Conversation
    start: int
    """Index in `conversation.items` of this run's first new item."""
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    turn: int = 0
    usage: Usage = field(default_factory=Usage)
    response_ids: list[str] = field(default_factory=list)
    output_retries: int = 0

    @classmethod
    def begin(cls, conversation: Conversation | None, new_input: list[Item]) -> RunState:
        conversation = conversation.copy() if conversation is not None else Conversation()
        start = len(conversation.items)
        conversation.items.extend(new_input)
        return cls(conversation, start)

    @property
    def new_items(self) -> list[Item]:
        return self.conversation.items[self.start :]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": RUN_STATE_FORMAT,
            "run_id": self.run_id,
            "conversation": self.conversation.to_dict(),
            "start": self.start,
            "turn": self.turn,
            "usage": self.usage.to_dict(),
            "response_ids": self.response_ids,
            "output_retries": self.output_retries,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        if data.get("format") != RUN_STATE_FORMAT:
            raise UserError(f"RunState format {data.get('format')!r} is not supported.")
        return cls(
            conversation=Conversation.from_dict(data["conversation"]),
            start=int(data["start"]),
            run_id=str(data["run_id"]),
            turn=int(data["turn"]),
            usage=Usage.from_dict(data["usage"]),
            response_ids=[str(r) for r in data["response_ids"]],
            output_retries=int(data.get("output_retries", 0)),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> RunState:
        return cls.from_dict(json.loads(text))
