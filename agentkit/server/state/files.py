"""Uploaded files (the Files API): metadata in a small SQLite index, contents in a blobs folder.

The folder sits next to the server's database (`<db>.files/`), or in a temporary directory
that is removed on close when the database is `:memory:`. Code interpreter containers keep
their folders under the same root (see `containers.py`).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import string
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from agentkit.server.errors import APIError

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
"""What `POST /files` accepts as `purpose` (the spec's `CreateFileRequest`)."""
MAX_FILE_BYTES = 512 * 1024**2
"""The service's size cap for one uploaded file."""
MIN_EXPIRY, MAX_EXPIRY = 3600, 2_592_000
"""`expires_after.seconds` must lie between 1 hour and 30 days."""
CHUNK = 1 << 20
TEMPORARY_PREFIX = "agentkit-files-"
"""How the temporary folders of `:memory:` servers are named (in the system's temp folder)."""
_ID_ALPHABET = string.ascii_letters + string.digits

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    filename TEXT NOT NULL,
    purpose TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);
CREATE INDEX IF NOT EXISTS files_by_time ON files (created_at, id);
"""


def file_id(prefix: str = "file") -> str:
    """An id such as `file-Ebzhf8H4DPGPr9pUhr7n7v` (22 letters and digits, as the service's)."""
    return prefix + "-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(22))


@dataclass(frozen=True)
class FileRecord:
    """An uploaded file's metadata."""

    id: str
    filename: str
    purpose: str
    bytes: int
    created_at: int
    expires_at: int | None

    def body(self) -> dict[str, Any]:
        """The spec's `OpenAIFile` (fields the spec types as non-null are left out when unset)."""
        body: dict[str, Any] = {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
        }
        if self.expires_at is not None:
            body["expires_at"] = self.expires_at
        return body


def storage_root(db: str, given: str | None) -> tuple[Path, bool]:
    """Where files and containers live, and whether the folder is temporary."""
    if given is not None:
        return Path(given), False
    if db == ":memory:":
        return Path(tempfile.mkdtemp(prefix=TEMPORARY_PREFIX)), True
    return Path(f"{db}.files"), False


class FileStore:
    """Uploaded files by id; safe to use from several threads."""

    def __init__(self, root: Path, *, temporary: bool = False) -> None:
        self.root = root
        self.temporary = temporary
        self.blobs = root / "files"
        self.blobs.mkdir(parents=True, exist_ok=True)
        # Code in containers runs as other users: nothing here is theirs to read.
        os.chmod(root, 0o700)
        self._db = sqlite3.connect(root / "files.sqlite3", check_same_thread=False)
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._cleanup = weakref.finalize(self, _remove, self._db, root if temporary else None)

    @classmethod
    def open(cls, db: str, folder: str | None = None) -> FileStore:
        """The store for a server database (`folder` overrides where files live)."""
        root, temporary = storage_root(db, folder)
        return cls(root, temporary=temporary)

    def close(self) -> None:
        self._cleanup()

    # --- writing ---------------------------------------------------------------------------

    def create(
        self,
        filename: str,
        source: BinaryIO,
        purpose: str,
        *,
        max_bytes: int = MAX_FILE_BYTES,
        expires_after: int | None = None,
        id_prefix: str = "file",
    ) -> FileRecord:
        """Store an upload; a file over `max_bytes` is refused with the service's 413."""
        new = file_id(id_prefix)
        size = copy_capped(source, self.blobs / new, max_bytes)
        now = int(time.time())
        expires_at = now + expires_after if expires_after is not None else None
        record = FileRecord(new, filename, purpose, size, now, expires_at)
        with self._lock:
            self._db.execute(
                "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?)",
                (new, filename, purpose, size, now, expires_at),
            )
            self._db.commit()
        return record

    def delete(self, file_id: str) -> bool:
        with self._lock:
            deleted = self._db.execute("DELETE FROM files WHERE id = ?", (file_id,)).rowcount
            self._db.commit()
        (self.blobs / file_id).unlink(missing_ok=True)
        return deleted > 0

    # --- reading ---------------------------------------------------------------------------

    def get(self, file_id: str) -> FileRecord | None:
        """The file's metadata; None when it is unknown, deleted or expired."""
        with self._lock:
            row = self._db.execute("SELECT * FROM files WHERE id = ?", (file_id,)).fetchone()
        record = FileRecord(*row) if row else None
        if record is not None and _expired(record):
            self.delete(file_id)
            return None
        return record

    def path(self, file_id: str) -> Path:
        """Where the file's bytes are (check `get` first)."""
        return self.blobs / file_id

    def content(self, file_id: str) -> bytes:
        return self.path(file_id).read_bytes()

    def listing(self, purpose: str | None = None) -> list[FileRecord]:
        """Every live file, oldest first, optionally of one purpose."""
        query = "SELECT * FROM files"
        args: tuple[str, ...] = ()
        if purpose is not None:
            query += " WHERE purpose = ?"
            args = (purpose,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created_at, rowid", args).fetchall()
        return [record for record in map(_record, rows) if not _expired(record)]


def _record(row: tuple[Any, ...]) -> FileRecord:
    return FileRecord(*row)


def _expired(record: FileRecord) -> bool:
    return record.expires_at is not None and record.expires_at <= time.time()


def copy_capped(source: BinaryIO, target: Path, max_bytes: int) -> int:
    """Copy a stream into a new file, refusing (and removing it) past `max_bytes`."""
    size = 0
    partial = target.with_name(target.name + ".partial")
    try:
        with open(partial, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise too_large(max_bytes)
                out.write(chunk)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return size


def too_large(max_bytes: int) -> APIError:
    return APIError(
        413,
        f"File too large: the limit is {max_bytes} bytes per file.",
        param="file",
        code="file_too_large",
    )


def _remove(db: sqlite3.Connection, temporary_root: Path | None) -> None:
    db.close()
    if temporary_root is not None:
        shutil.rmtree(temporary_root, ignore_errors=True)
