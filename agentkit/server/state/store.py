"""Stored responses and their items in SQLite (WAL); each write is one transaction."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentkit.server.state.cache import Chain, Entry, Item, ResponseCache, StoredResponse

__all__ = ["DEFAULT_CACHE_BYTES", "Chain", "Store", "StoredResponse"]

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
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
"""How much stored JSON the store keeps decoded in memory (the most recently used responses)."""


def open_database(path: str) -> sqlite3.Connection:
    """An autocommit connection to a WAL database file (its folder made), or to `:memory:`."""
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


class Store:
    """The server's SQLite database: responses, items, and server metadata."""

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        weigh: Callable[[list[Item]], int] = len,
    ) -> None:
        """Open (or create) the database.

        Args:
            cache_bytes: how much JSON the cache of decoded responses may hold; a response
                larger than this is never cached.
            weigh: a response's items → the weight a `Chain` sums (the server counts tokens),
                computed once per cached response, so a long chain's total is a cheap sum.
        """
        self.path = str(path)
        self._db = open_database(self.path)
        self._lock = threading.Lock()
        # The cache has a lock of its own, so reading it never waits for a long write.
        self._cache = ResponseCache(cache_bytes)
        self._cache_lock = threading.Lock()
        self._deletes = 0  # a cache fill or kept chain from before a delete may be stale
        self._weigh = weigh
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
        rows = [(item["id"], record.id, _json(item)) for item in input_items + record.output]
        body_json, input_json = _json(body), _json(input_items)
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.execute(
                    "INSERT INTO responses VALUES (?, ?, ?, ?, ?)",
                    (
                        record.id,
                        body["created_at"],
                        record.previous_response_id,
                        body_json,
                        input_json,
                    ),
                )
                self._db.executemany("INSERT OR REPLACE INTO items VALUES (?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        with self._cache_lock:
            self._cache.put(record, len(body_json) + len(input_json))

    def get(self, response_id: str) -> StoredResponse | None:
        entry = self._entry(response_id)
        return None if entry is None else entry.record

    def context(self, response_id: str) -> list[Item] | None:
        """Every item of the chain ending at `response_id`, oldest first; None if it is unknown."""
        chain = self.chain(response_id)
        return None if chain is None else list(chain.items)

    def chain(self, response_id: str) -> Chain | None:
        """The chain ending at `response_id` (None if it is unknown), from the oldest ancestor
        still stored. Continuing a conversation's newest response reuses its parent's chain,
        so the cost does not grow with the chain's length."""
        with self._cache_lock:
            deletes = self._deletes
        links: list[Entry] = []  # newest first, down to one whose chain is kept
        base: Entry | None = None
        next_id: str | None = response_id
        while next_id is not None:
            entry = self._entry(next_id)
            if entry is None:
                break  # an ancestor was deleted: the chain starts after it
            if entry.chain is not None:
                base = entry
                break
            links.append(entry)
            next_id = entry.record.previous_response_id
        if not links:
            return None if base is None else base.chain
        chain = self._extend(base.chain if base else None, links[::-1])
        with self._cache_lock:
            if self._deletes == deletes:
                self._cache.keep_chain(links[0], chain, base)
        return chain

    def _extend(self, base: Chain | None, links: list[Entry]) -> Chain:
        items = list(base.items) if base else []
        weight = base.weight if base else 0
        for link in links:
            items += link.record.input
            items += link.record.output
            if link.weight is None:
                link.weight = self._weigh(link.record.input) + self._weigh(link.record.output)
            weight += link.weight
        return Chain(tuple(items), weight)

    @property
    def cached_bytes(self) -> int:
        """What the cache holds: decoded responses' JSON length and kept chains' references."""
        return self._cache.bytes

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
        with self._cache_lock:
            self._cache.pop(response_id)
            self._cache.drop_chains()
            self._deletes += 1
        return deleted.rowcount > 0

    def _rollback(self) -> None:
        # SQLite ends the transaction itself on some errors (a full disk, for one); a ROLLBACK
        # then would fail and hide the error that matters.
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _entry(self, response_id: str) -> Entry | None:
        """The response from the cache, else decoded from its row and cached."""
        with self._cache_lock:
            entry = self._cache.get(response_id)
            deletes = self._deletes
        if entry is not None:
            return entry
        with self._lock:
            row = self._db.execute(
                "SELECT body, input, previous_response_id FROM responses WHERE id = ?",
                (response_id,),
            ).fetchone()
        if row is None:
            return None
        record = StoredResponse(response_id, json.loads(row[0]), json.loads(row[1]), row[2])
        size = len(row[0]) + len(row[1])
        with self._cache_lock:
            if self._deletes != deletes:  # it may have been deleted since it was read
                return Entry(record, size)
            return self._cache.put(record, size)


def _json(value: Any) -> str:
    # Never write NaN or Infinity: they are not JSON, and nothing could read the row back.
    return json.dumps(value, allow_nan=False)
