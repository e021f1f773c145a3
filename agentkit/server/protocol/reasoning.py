"""Encrypted reasoning: Fernet tokens under a server key kept in the database."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from agentkit.server.errors import invalid

DEFAULT_REASONING_MODELS = ("o1*", "o3*", "o4*", "gpt-5*")
REASONING_REFUSED = (
    "Reasoning input items can only be provided to a reasoning or computer use model. Remove "
    "reasoning items from your input and try again."
)


def is_reasoning_model(model: str, patterns: Sequence[str]) -> bool:
    """Whether `model` matches one of the glob-like `patterns` (only `*` is special)."""
    return _matches(model, tuple(patterns))


@functools.lru_cache(maxsize=1024)
def _matches(model: str, patterns: tuple[str, ...]) -> bool:
    # Cached: it runs on every request, and building the patterns costs ~0.1 ms each time.
    return any(_glob(pattern).fullmatch(model) for pattern in patterns)


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def check_reasoning_accepted(items: list[dict[str, Any]], reasoning_model: bool) -> None:
    """A model that does not reason refuses reasoning items anywhere in its context: sent by
    value, by reference, or held by the `previous_response_id` chain (a 400, as the service)."""
    if not reasoning_model and any(item["type"] == "reasoning" for item in items):
        raise invalid(REASONING_REFUSED, "input")


class ReasoningSealer:
    """Seals reasoning items into tokens and opens the tokens clients send back."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    def seal(self, item_id: str, model: str, summary: list[dict[str, Any]]) -> str:
        payload = {"id": item_id, "model": model, "summary": summary}
        return self._fernet.encrypt(json.dumps(payload).encode()).decode()

    def open(self, item: dict[str, Any], param: str) -> dict[str, Any]:
        """The sealed payload of a replayed reasoning item; a 400 if it is not ours or altered."""
        token = item["encrypted_content"]
        try:
            payload: dict[str, Any] = json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError, UnicodeError):
            raise invalid(
                f"The encrypted content for item {item.get('id', '(no id)')} could not be "
                "verified.",
                param,
                "invalid_encrypted_content",
            ) from None
        if "id" in item and payload.get("id") != item["id"]:
            raise invalid(
                f"The encrypted content for item {item['id']} belongs to another item.",
                param,
                "invalid_encrypted_content",
            )
        return payload
