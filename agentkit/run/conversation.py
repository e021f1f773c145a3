"""A multi-turn exchange that can be saved as JSON and resumed anywhere."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agentkit.errors import UserError
from agentkit.run.versioned import versioned

Item = dict[str, Any]
CONVERSATION_FORMAT = 1


@versioned  # pydantic (a Temporal payload, say) writes it as `to_dict` does
@dataclass
class Conversation:
    """The transcript of an exchange, by value, and what the service already holds of it.

    `items` are Responses API items (input and output), oldest first. With
    `previous_response_id` chaining, `items[:synced]` are held by the service as the context
    of `last_response_id`, so only the rest is sent; with `chaining="conversation"` they are
    held by the service's Conversation `conversation_id`. It never holds keys or headers.
    """

    items: list[Item] = field(default_factory=list)
    last_response_id: str | None = None
    synced: int = 0
    model: str | None = None
    """The model that made the latest response: the reasoning items here are its own."""
    conversation_id: str | None = None
    """The service's Conversation (`conv_...`) holding these items (`chaining="conversation"`)."""

    @classmethod
    def on_service(cls, conversation_id: str) -> Conversation:
        """A conversation the service already holds (by its `conv_...` id), to continue with an
        agent that chains by conversation; its earlier items stay on the service."""
        return cls(conversation_id=conversation_id)

    def unsent(self) -> list[Item]:
        """Items the service has not seen under `last_response_id`."""
        return self.items[self.synced :]

    def mark_synced(self, response_id: str | None) -> None:
        """Everything so far is held by the service as `response_id`'s context (None: nothing)."""
        self.last_response_id = response_id
        self.synced = len(self.items) if response_id is not None else 0

    def copy(self) -> Conversation:
        return Conversation(
            list(self.items), self.last_response_id, self.synced, self.model, self.conversation_id
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CONVERSATION_FORMAT,
            "items": self.items,
            "last_response_id": self.last_response_id,
            "synced": self.synced,
            "model": self.model,
            **({"conversation_id": self.conversation_id} if self.conversation_id else {}),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        version = data.get("format")
        if "conversation" in data and "run_id" in data:
            raise UserError(
                "This is a RunState, not a Conversation: load it with RunState.from_json(...) "
                "(or RunState.from_dict), whose .conversation is the conversation."
            )
        if version != CONVERSATION_FORMAT:
            raise UserError(
                f"Conversation format {version!r} is not supported (this agentkit reads format "
                f"{CONVERSATION_FORMAT})."
            )
        items = data.get("items")
        synced = data.get("synced", 0)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise UserError("Conversation 'items' must be a list of objects.")
        if not isinstance(synced, int) or not 0 <= synced <= len(items):
            raise UserError("Conversation 'synced' must count items of the conversation.")
        last = data.get("last_response_id")
        if last is not None and not isinstance(last, str):
            raise UserError("Conversation 'last_response_id' must be a string or null.")
        model = data.get("model")
        if model is not None and not isinstance(model, str):
            raise UserError("Conversation 'model' must be a string or null.")
        held = data.get("conversation_id")
        if held is not None and not isinstance(held, str):
            raise UserError("Conversation 'conversation_id' must be a string or null.")
        kept = synced if last is not None or held is not None else 0
        return cls(list(items), last, kept, model, held)

    @classmethod
    def from_json(cls, text: str | bytes) -> Conversation:
        try:
            data = json.loads(text)
        except ValueError as error:
            raise UserError(f"Conversation JSON could not be parsed: {error}") from None
        if not isinstance(data, dict):
            raise UserError("Conversation JSON must be an object.")
        return cls.from_dict(data)
