"""Searching everything a run kept for secrets: the scans the secret-keeping tests share."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path


def database_text(path: Path) -> str:
    """Every row of every table of the server's SQLite database, as text."""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = [repr(row) for t in tables for row in db.execute(f'SELECT * FROM "{t}"')]
    assert rows, "the server stored nothing: the scan would pass vacuously"
    return "\n".join(rows)


def assert_kept_nowhere(secrets: Iterable[str], kept: Mapping[str, str]) -> None:
    """No secret is in any of the texts (named by where they were kept)."""
    for where, text in kept.items():
        assert text, f"the {where} is empty: its scan would pass vacuously"
        for secret in secrets:
            assert secret not in text, f"a secret is in the {where}"
