"""RunResult: what a finished run returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from agentkit.model.usage import Usage
from agentkit.run.conversation import Conversation, Item

OutputT = TypeVar("OutputT")


@dataclass(frozen=True)
class RunResult(Generic[OutputT]):
    """The final output, every item the run added, and how to continue the conversation."""

    output: OutputT
    output_text: str
    new_items: list[Item]
    response_ids: list[str]
    usage: Usage
    conversation: Conversation

    @property
    def last_response_id(self) -> str | None:
        return self.response_ids[-1] if self.response_ids else None
