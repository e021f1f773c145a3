"""Encrypted reasoning: Fernet tokens under a server key kept in the database."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from agentkit.server.errors import invalid

DEFAULT_REASONING_MODELS = ("o1*", "o3*", "o4*", "gpt-5*")
"""The `--reasoning-models` default: the catalogue's own rules apply (protocol/models.py)."""

REASONING_REFUSED = (
    "Reasoning input items can only be provided to a reasoning or computer use model. Remove "
    "reasoning items from your input and try again."
)


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
        return self.seal_payload({"id": item_id, "model": model, "summary": summary})

    def seal_payload(self, payload: dict[str, Any]) -> str:
        """A token (Fernet, `gAAAAA…`) only this server's key opens."""
        return self._fernet.encrypt(json.dumps(payload).encode()).decode()

    def open(self, item: dict[str, Any], param: str) -> dict[str, Any]:
        """The sealed payload of a replayed reasoning (or compaction) item; a 400 if it is not
        ours or altered."""
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
        if not isinstance(payload, dict) or ("compaction" in payload) != (
            item["type"] == "compaction"
        ):
            raise invalid(
                f"The encrypted content for item {item.get('id', '(no id)')} belongs to another "
                "kind of item.",
                param,
                "invalid_encrypted_content",
            )
        if "id" in item and payload.get("id") != item["id"]:
            raise invalid(
                f"The encrypted content for item {item['id']} belongs to another item.",
                param,
                "invalid_encrypted_content",
            )
        return payload
