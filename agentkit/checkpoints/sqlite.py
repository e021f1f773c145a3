"""Checkpoints in a SQLite file: the default on-disk store, shared by processes on one host."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from agentkit.checkpoints.base import Claim, Owner, StateData, existing_run, unknown_run

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS agentkit_runs (
    run_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_at REAL NOT NULL,
    claim_token TEXT,
    claim_host TEXT,
    claim_pid INTEGER,
    claim_until REAL
);
"""


class SQLiteCheckpoints:
    """A `Checkpoints` store in one SQLite file (WAL; each write one transaction).

    Processes on the same host may share the file: a run's claim is a row's owner columns,
    taken in a write transaction, so two processes never run one run at once.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30
        )
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)

    def __repr__(self) -> str:
        return f"SQLiteCheckpoints({str(self.path)!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    async def create(self, run_id: str, state: StateData, owner: Owner) -> None:
        def write() -> None:
            if self._row(run_id) is not None:
                raise existing_run(run_id)
            self._db.execute(
                "INSERT INTO agentkit_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, _dumps(state), _status(state), time.time(), *_owner_columns(owner)),
            )

        await self._transaction(write)

    async def claim(self, run_id: str, owner: Owner) -> StateData:
        def take() -> StateData:
            row = self._row(run_id)
            if row is None:
                raise unknown_run(run_id)
            self._take(run_id, row, owner)
            data: StateData = json.loads(row[0])
            return data

        return await self._transaction(take)

    async def save(self, run_id: str, state: StateData, owner: Owner) -> None:
        def write() -> None:
            row = self._row(run_id)
            if row is None:
                raise unknown_run(run_id)
            self._take(run_id, row, owner)
            self._db.execute(
                "UPDATE agentkit_runs SET state = ?, status = ?, updated_at = ? WHERE run_id = ?",
                (_dumps(state), _status(state), time.time(), run_id),
            )

        await self._transaction(write)

    async def renew(self, run_id: str, owner: Owner) -> None:
        def write() -> None:
            row = self._row(run_id)
            if row is None:
                raise unknown_run(run_id)
            self._take(run_id, row, owner)

        await self._transaction(write)

    async def release(self, run_id: str, owner: Owner) -> None:
        def write() -> None:
            self._db.execute(
                "UPDATE agentkit_runs SET claim_token = NULL, claim_host = NULL, "
                "claim_pid = NULL, claim_until = NULL WHERE run_id = ? AND claim_token = ?",
                (run_id, owner.token),
            )

        await self._transaction(write)

    async def load(self, run_id: str) -> StateData | None:
        def read() -> StateData | None:
            row = self._db.execute(
                "SELECT state FROM agentkit_runs WHERE run_id = ?", (run_id,)
            ).fetchone()
            return None if row is None else dict(json.loads(row[0]))

        return await self._locked(read)

    async def delete(self, run_id: str) -> None:
        def write() -> None:
            self._db.execute("DELETE FROM agentkit_runs WHERE run_id = ?", (run_id,))

        await self._transaction(write)

    def _row(self, run_id: str) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._db.execute(
            "SELECT state, claim_token, claim_host, claim_pid, claim_until FROM agentkit_runs "
            "WHERE run_id = ?",
            (run_id,),
        ).fetchone()
        return row

    def _take(self, run_id: str, row: tuple[Any, ...], owner: Owner) -> None:
        """Claim the run for `owner` unless another live owner holds it (inside a write)."""
        token, host, pid, until = row[1:]
        if token is not None and token != owner.token:
            held = Claim(token, host, pid, until)
            if held.held():
                raise held.refused(run_id)
        self._db.execute(
            "UPDATE agentkit_runs SET claim_token = ?, claim_host = ?, claim_pid = ?, "
            "claim_until = ? WHERE run_id = ?",
            (*_owner_columns(owner), run_id),
        )

    async def _transaction(self, work: Callable[[], T]) -> T:
        def run() -> T:
            self._db.execute("BEGIN IMMEDIATE")  # the write lock first: claims must not race
            try:
                result = work()
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return result

        return await self._locked(run)

    async def _locked(self, work: Callable[[], T]) -> T:
        def run() -> T:
            with self._lock:
                return work()

        return await asyncio.to_thread(run)


def _dumps(state: StateData) -> str:
    return json.dumps(state, separators=(",", ":"))


def _status(state: StateData) -> str:
    return str(state.get("status", "running"))


def _owner_columns(owner: Owner) -> tuple[str, str, int, float]:
    return (owner.token, owner.host, owner.pid, time.time() + owner.lease)
