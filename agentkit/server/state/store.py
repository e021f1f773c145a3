"""Stored responses and their items in SQLite (WAL); each write is one transaction."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Item = dict[str, Any]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS responses (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    previous_response_id TEXT,
    body TEXT NOT NULL,
    input TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    id TEXT NOT NULL,
    response_id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (id, response_id)
);
CREATE INDEX IF NOT EXISTS items_by_response ON items (response_id);
"""
CACHE_SIZE = 2048


def open_database(path: str) -> sqlite3.Connection:
    """An autocommit connection to a WAL database file (its folder made), or to `:memory:`."""
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


@dataclass(frozen=True)
class StoredResponse:
    """A stored response: its public body, the input items it was given, and its parent."""

    id: str
    body: dict[str, Any]
    input: list[Item]
    previous_response_id: str | None

    @property
    def output(self) -> list[Item]:
        output: list[Item] = self.body["output"]
        return output


class Store:
    """The server's SQLite database: responses, items, and server metadata."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._db = open_database(self.path)
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, StoredResponse] = OrderedDict()
        with self._lock:
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def meta(self, key: str, default: str) -> str:
        """A server setting, created with `default` the first time it is asked for."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, default))
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        value: str = row[0]
        return value

    def save(self, body: dict[str, Any], input_items: list[Item]) -> None:
        """Store a finished response with its input and output items, all or nothing."""
        record = StoredResponse(body["id"], body, input_items, body.get("previous_response_id"))
        rows = [(item["id"], record.id, json.dumps(item)) for item in input_items + record.output]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.execute(
                    "INSERT INTO responses VALUES (?, ?, ?, ?, ?)",
                    (
                        record.id,
                        body["created_at"],
                        record.previous_response_id,
                        json.dumps(body),
                        json.dumps(input_items),
                    ),
                )
                self._db.executemany("INSERT OR REPLACE INTO items VALUES (?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            self._remember(record)

    def get(self, response_id: str) -> StoredResponse | None:
        with self._lock:
            cached = self._cache.get(response_id)
            if cached is not None:
                self._cache.move_to_end(response_id)
                return cached
            row = self._db.execute(
                "SELECT body, input, previous_response_id FROM responses WHERE id = ?",
                (response_id,),
            ).fetchone()
            if row is None:
                return None
            record = StoredResponse(response_id, json.loads(row[0]), json.loads(row[1]), row[2])
            self._remember(record)
            return record

    def context(self, response_id: str) -> list[Item] | None:
        """Every item of the chain ending at `response_id`, oldest first; None if it is unknown."""
        chain: list[StoredResponse] = []
        next_id: str | None = response_id
        while next_id is not None:
            record = self.get(next_id)
            if record is None:
                if not chain:
                    return None
                break  # an ancestor was deleted: the chain starts after it
            chain.append(record)
            next_id = record.previous_response_id
        items: list[Item] = []
        for record in reversed(chain):
            items.extend(record.input)
            items.extend(record.output)
        return items

    def item(self, item_id: str) -> Item | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM items WHERE id = ? LIMIT 1", (item_id,)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def delete(self, response_id: str) -> bool:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                deleted = self._db.execute("DELETE FROM responses WHERE id = ?", (response_id,))
                self._db.execute("DELETE FROM items WHERE response_id = ?", (response_id,))
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            self._cache.pop(response_id, None)
            return deleted.rowcount > 0

    def _rollback(self) -> None:
        # SQLite ends the transaction itself on some errors (a full disk, for one); a ROLLBACK
        # then would fail and hide the error that matters.
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _remember(self, record: StoredResponse) -> None:
        self._cache[record.id] = record
        self._cache.move_to_end(record.id)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
