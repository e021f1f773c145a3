"""Conversations in SQLite: each one's metadata and its items in order (the Conversations API)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from agentkit._ids import new_id
from agentkit.server.state.store import open_database

Item = dict[str, Any]
Conversation = dict[str, Any]

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    metadata TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS conversation_items (
    conversation_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (conversation_id, position)
);
CREATE INDEX IF NOT EXISTS conversation_items_by_id ON conversation_items (conversation_id, id);
"""


class ConversationStore:
    """The `conversations` and `conversation_items` tables, beside the responses' in one file."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._db = open_database(str(path))
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create(self, metadata: dict[str, str], items: list[Item]) -> Conversation:
        """A new conversation holding `items` (each already with its id)."""
        conversation_id, created_at = new_id("conv"), int(time.time())
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO conversations VALUES (?, ?, ?)",
                (conversation_id, created_at, json.dumps(metadata)),
            )
            self._insert(conversation_id, items, 0)
            self._db.execute("COMMIT")
        return {
            "id": conversation_id,
            "object": "conversation",
            "created_at": created_at,
            "metadata": metadata,
        }

    def get(self, conversation_id: str) -> Conversation | None:
        with self._lock:
            row = self._db.execute(
                "SELECT created_at, metadata FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        if row is None:
            return None
        return {
            "id": conversation_id,
            "object": "conversation",
            "created_at": row[0],
            "metadata": json.loads(row[1]),
        }

    def update(self, conversation_id: str, metadata: dict[str, str]) -> Conversation | None:
        with self._lock:
            self._db.execute(
                "UPDATE conversations SET metadata = ? WHERE id = ?",
                (json.dumps(metadata), conversation_id),
            )
        return self.get(conversation_id)

    def delete(self, conversation_id: str) -> bool:
        with self._lock:
            self._db.execute("BEGIN")
            deleted = self._db.execute(
                "DELETE FROM conversations WHERE id = ?", (conversation_id,)
            ).rowcount
            self._db.execute(
                "DELETE FROM conversation_items WHERE conversation_id = ?", (conversation_id,)
            )
            self._db.execute("COMMIT")
        return deleted > 0

    def items(self, conversation_id: str) -> list[Item]:
        """The conversation's items, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM conversation_items WHERE conversation_id = ? ORDER BY position",
                (conversation_id,),
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def append(self, conversation_id: str, items: list[Item]) -> bool:
        """Add `items` at the end; False when the conversation is gone (nothing added)."""
        with self._lock:
            self._db.execute("BEGIN")
            known = self._db.execute(
                "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if known is not None:
                row = self._db.execute(
                    "SELECT COALESCE(MAX(position) + 1, 0) FROM conversation_items "
                    "WHERE conversation_id = ?",
                    (conversation_id,),
                ).fetchone()
                self._insert(conversation_id, items, row[0])
            self._db.execute("COMMIT")
        return known is not None

    def item(self, conversation_id: str, item_id: str) -> Item | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM conversation_items WHERE conversation_id = ? AND id = ? LIMIT 1",
                (conversation_id, item_id),
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def delete_item(self, conversation_id: str, item_id: str) -> bool:
        with self._lock:
            deleted = self._db.execute(
                "DELETE FROM conversation_items WHERE conversation_id = ? AND id = ?",
                (conversation_id, item_id),
            ).rowcount
        return deleted > 0

    def _insert(self, conversation_id: str, items: list[Item], start: int) -> None:
        self._db.executemany(
            "INSERT INTO conversation_items VALUES (?, ?, ?, ?)",
            [
                (conversation_id, start + offset, item["id"], json.dumps(item, allow_nan=False))
                for offset, item in enumerate(items)
            ],
        )
