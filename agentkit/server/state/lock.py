"""One server per database: an exclusive lock beside it, held for as long as the server runs.

Two servers on one database would each trust their own memory of it: one would serve responses
the other deleted, and both would run code in the same container folders. So the second one
is refused, with the first one's process id. The operating system releases the lock when the
process ends, however it ends (a `kill -9` included).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import BinaryIO


class DatabaseInUse(RuntimeError):
    """Another server (or another `ServerState` in this process) holds this database."""


class DataLock:
    """An exclusive `flock` on `<path>.lock`; `release()` (or the process ending) frees it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(f"{os.path.abspath(path)}.lock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A file object, not a bare descriptor: if the owner is dropped unreleased (a server
        # made but never started), collecting it closes the file and frees the lock.
        self._file: BinaryIO | None = os.fdopen(
            os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), "r+b", buffering=0
        )
        fd = self._file.fileno()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            self.release()
            raise DatabaseInUse(
                f"{os.path.abspath(path)} is in use by another agentkit server (pid {holder}). "
                "Two servers on one database would serve each other's deleted responses and "
                "share container folders: stop that server, or give this one another --db."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the last descriptor releases the flock
            self._file = None


def lock_data(db: str, files_dir: str | None) -> list[DataLock]:
    """Lock the database file and, when it is given apart from it, the files folder."""
    paths = [] if db == ":memory:" else [db]
    if files_dir is not None:
        paths.append(files_dir.rstrip("/") or files_dir)
    locks: list[DataLock] = []
    try:
        for path in paths:
            locks.append(DataLock(path))
    except BaseException:
        for held in locks:
            held.release()
        raise
    return locks
