"""Background responses in SQLite: each one's latest body and every event it streamed (resume)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.server.state.store import open_database

Item = dict[str, Any]
Event = dict[str, Any]

SCHEMA = """
CREATE TABLE IF NOT EXISTS background (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    input TEXT NOT NULL,
    stream INTEGER NOT NULL,
    finished INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
    response_id TEXT NOT NULL,
    sequence_number INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (response_id, sequence_number)
);
"""


@dataclass(frozen=True)
class BackgroundRecord:
    """A background response as last written: its body, input, and whether it streams."""

    id: str
    body: dict[str, Any]
    input: list[Item]
    stream: bool
    finished: bool


class RunStore:
    """The `background` and `events` tables, beside the responses of `Store` in the same file.

    Every write is its own transaction, so whatever was written before a crash is still there.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._db = open_database(self.path)
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def begin(self, body: dict[str, Any], input_items: list[Item], stream: bool) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO background (id, body, input, stream) VALUES (?, ?, ?, ?)",
                (body["id"], json.dumps(body), json.dumps(input_items), int(stream)),
            )

    def update(self, body: dict[str, Any], *, finished: bool = False) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE background SET body = ?, finished = ? WHERE id = ?",
                (json.dumps(body), int(finished), body["id"]),
            )

    def append(self, response_id: str, event: Event) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO events VALUES (?, ?, ?)",
                (response_id, event["sequence_number"], json.dumps(event)),
            )

    def get(self, response_id: str) -> BackgroundRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, body, input, stream, finished FROM background WHERE id = ?",
                (response_id,),
            ).fetchone()
        return None if row is None else _record(row)

    def unfinished(self) -> list[BackgroundRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body, input, stream, finished FROM background WHERE finished = 0"
            ).fetchall()
        return [_record(row) for row in rows]

    def events(self, response_id: str, after: int = -1) -> list[Event]:
        with self._lock:
            rows = self._db.execute(
                "SELECT event FROM events WHERE response_id = ? AND sequence_number > ? "
                "ORDER BY sequence_number",
                (response_id, after),
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def delete(self, response_id: str) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.execute("DELETE FROM background WHERE id = ?", (response_id,))
                self._db.execute("DELETE FROM events WHERE response_id = ?", (response_id,))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise


def _record(row: tuple[Any, ...]) -> BackgroundRecord:
    return BackgroundRecord(
        row[0], json.loads(row[1]), json.loads(row[2]), bool(row[3]), bool(row[4])
    )
