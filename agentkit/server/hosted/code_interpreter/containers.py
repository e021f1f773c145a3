"""Code interpreter containers: a folder, a sandboxed Python session, and the files in between.

A container's folder (`/mnt/data` to the code) holds its files. The files the API lists are
snapshots: taken when a file is uploaded, and after each code run for every file the code
created or changed (`source: "assistant"`). A container expires after its idle time
(`expires_after.minutes`, 20 by default); then its session is stopped, its files are
discarded, and using it is an error, as on the service.

The server reads and writes a folder that sandboxed code controls, so it never follows a
symbolic link there and never reads anything but regular files. The folder's size is bounded
(`SandboxLimits.folder_bytes` of disk, `folder_apparent_bytes` of file sizes): a cell that
goes over is stopped, and the folder is put back as the last snapshots have it. Snapshots keep
a sparse file's holes, so the server never writes more than the code did.

Cells run on threads of their own (`Containers.cells`, `SandboxLimits.running_cells` of them),
so sleeping cells never hold up the threads other requests need; nothing here waits for a
running cell but that container's next cell.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sqlite3
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from agentkit._ids import new_id
from agentkit.server.errors import APIError, invalid, not_found
from agentkit.server.hosted.code_interpreter import leftovers
from agentkit.server.hosted.code_interpreter.isolation import KERNEL, isolation_level
from agentkit.server.hosted.code_interpreter.sandbox import Execution, Kernel, SandboxLimits
from agentkit.server.state.files import (
    MAX_FILE_BYTES,
    TEMPORARY_PREFIX,
    FileStore,
    copy_capped,
    too_large,
)
from agentkit.server.state.folders import (
    MAX_DEPTH,
    MAX_ENTRIES,
    Usage,
    copy_sparse,
    measure,
    open_inside,
    remove_inside,
    write_inside,
)

log = logging.getLogger("agentkit.server")

DATA_PATH = "/mnt/data"
MEMORY_LIMITS = {"1g": 1024**3, "4g": 4 * 1024**3, "16g": 16 * 1024**3, "64g": 64 * 1024**3}
DEFAULT_IDLE_SECONDS = 20 * 60
UID_RANGE = (2_000_000, 2_900_000)
"""User ids given to containers when the server runs as root (none of them has a login)."""
ROLLED_BACK = (
    "the Python session was stopped (its variables are lost), and the folder was put back as "
    "it was before this call"
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_active_at REAL NOT NULL,
    idle_seconds REAL NOT NULL,
    memory_limit TEXT NOT NULL,
    status TEXT NOT NULL,
    uid INTEGER
);
CREATE TABLE IF NOT EXISTS container_files (
    id TEXT PRIMARY KEY,
    container_id TEXT NOT NULL,
    path TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS files_by_container ON container_files (container_id, created_at);
"""


@dataclass(frozen=True)
class ContainerRecord:
    id: str
    name: str
    created_at: int
    last_active_at: float
    idle_seconds: float
    memory_limit: str
    status: str
    uid: int | None

    def body(self) -> dict[str, Any]:
        """The spec's `ContainerResource`."""
        return {
            "id": self.id,
            "object": "container",
            "name": self.name,
            "created_at": self.created_at,
            "status": self.status,
            "last_active_at": int(self.last_active_at),
            "expires_after": {
                "anchor": "last_active_at",
                "minutes": max(1, round(self.idle_seconds / 60)),
            },
            "memory_limit": self.memory_limit,
            "network_policy": {"type": "disabled"},
        }

    def expired(self, now: float) -> bool:
        return self.status == "expired" or now - self.last_active_at > self.idle_seconds


@dataclass(frozen=True)
class ContainerFile:
    id: str
    container_id: str
    path: str
    bytes: int
    created_at: int
    source: str
    mtime_ns: int

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def relative(self) -> str:
        return self.path.removeprefix(DATA_PATH + "/")

    def body(self) -> dict[str, Any]:
        """The spec's `ContainerFileResource`."""
        return {
            "id": self.id,
            "object": "container.file",
            "created_at": self.created_at,
            "bytes": self.bytes,
            "container_id": self.container_id,
            "path": self.path,
            "source": self.source,
        }


@dataclass(frozen=True)
class RunResult:
    """A code run: what the session did, and the files the code created or changed."""

    execution: Execution
    files: list[ContainerFile]


class Containers:
    """Every container of the server, and their sessions; safe to use from several threads."""

    def __init__(
        self,
        files: FileStore,
        *,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        limits: SandboxLimits | None = None,
        max_file_bytes: int = MAX_FILE_BYTES,
    ) -> None:
        self.uploads = files
        # Absolute: sessions start in these folders and must find them from anywhere.
        self.root = Path(os.path.abspath(files.root / "containers"))
        self.root.mkdir(exist_ok=True)
        self.idle_seconds = idle_seconds
        self.limits = limits or SandboxLimits()
        self.max_file_bytes = max_file_bytes
        self.level = isolation_level(self.limits.isolation)
        log.log(*self.level.describe())
        leftovers.clean(self.root, KERNEL)
        temp = Path(tempfile.gettempdir())
        leftovers.clean_temporary(temp, TEMPORARY_PREFIX, files.root.absolute(), KERNEL)
        self._claim = leftovers.Claim(self.root)
        (self.root / leftovers.TRASH).mkdir(exist_ok=True)
        self.cells = ThreadPoolExecutor(self.limits.running_cells, "agentkit-cell")
        """Where cells run: `run` on one of these threads, never on the shared default pool."""
        self._db = sqlite3.connect(files.root / "containers.sqlite3", check_same_thread=False)
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()  # the database and the dicts below; never held long
        self._kernels: dict[str, Kernel] = {}
        self._run_locks: dict[str, threading.Lock] = {}
        self._busy: dict[str, int] = {}
        temporary = self.root if files.temporary else None
        self._cleanup = weakref.finalize(
            self, _shut, self._kernels, self._db, self.cells, self._claim, temporary
        )

    def close(self) -> None:
        self._cleanup()

    def check_available(self, param: str | None = None) -> None:
        """Refuse code, in the service's shape, when this server cannot run it at all."""
        if self.level.mode is None:
            raise invalid(self.level.refusal(), param, "code_interpreter_unavailable")

    # --- containers ------------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        file_ids: Sequence[str] = (),
        idle_seconds: float | None = None,
        memory_limit: str = "1g",
    ) -> ContainerRecord:
        """A new container with copies of these uploaded files (checked first: all or none)."""
        uploads = [self._upload(file_id, f"file_ids[{i}]") for i, file_id in enumerate(file_ids)]
        uid = secrets.randbelow(UID_RANGE[1] - UID_RANGE[0]) + UID_RANGE[0]
        now = time.time()
        record = ContainerRecord(
            new_id("cntr"),
            name,
            int(now),
            now,
            idle_seconds if idle_seconds is not None else self.idle_seconds,
            memory_limit,
            "running",
            uid if os.geteuid() == 0 else None,
        )
        folder = self.root / record.id
        for part in ("data", "blobs", "private"):
            (folder / part).mkdir(parents=True, mode=0o700)
        if record.uid is not None:
            os.chown(folder / "data", record.uid, record.uid)
        with self._lock:
            self._db.execute(
                "INSERT INTO containers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.name,
                    record.created_at,
                    record.last_active_at,
                    record.idle_seconds,
                    record.memory_limit,
                    record.status,
                    record.uid,
                ),
            )
            self._db.commit()
        for upload in uploads:
            self.copy_upload(record.id, upload.id)
        return record

    def get(self, container_id: str, param: str | None = "container_id") -> ContainerRecord:
        """The container (expired ones too); 404 when unknown or deleted."""
        self.sweep()
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM containers WHERE id = ?", (container_id,)
            ).fetchone()
        if row is None:
            raise not_found(f"Container with id '{container_id}' not found.", param)
        return ContainerRecord(*row)

    def active(self, container_id: str, param: str | None = "container_id") -> ContainerRecord:
        """The container, if it can still be used; the service's error otherwise."""
        record = self.get(container_id, param)
        if record.status != "running":
            raise expired_error(container_id, param)
        return record

    def listing(self, name: str | None = None) -> list[ContainerRecord]:
        """Every container, oldest first (optionally only those with this name)."""
        self.sweep()
        query = "SELECT * FROM containers"
        args: tuple[str, ...] = ()
        if name is not None:
            query, args = query + " WHERE name = ?", (name,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created_at, rowid", args).fetchall()
        return [ContainerRecord(*row) for row in rows]

    def delete(self, container_id: str) -> None:
        self.get(container_id)
        self._discard(container_id)
        with self._lock:
            self._db.execute("DELETE FROM containers WHERE id = ?", (container_id,))
            self._db.commit()

    def sweep(self) -> None:
        """Expire every container idle for longer than its time (a running cell is activity):
        stop it, discard its files."""
        now = time.time()
        with self._lock:
            rows = self._db.execute("SELECT * FROM containers WHERE status = 'running'").fetchall()
            gone = [
                row[0]
                for row in rows
                if ContainerRecord(*row).expired(now) and not self._busy.get(row[0])
            ]
            for container_id in gone:
                self._db.execute(
                    "UPDATE containers SET status = 'expired' WHERE id = ?", (container_id,)
                )
            self._db.commit()
        for container_id in gone:
            self._discard(container_id)

    def _discard(self, container_id: str) -> None:
        """Forget the container's files and stop its session, without waiting for either: the
        folder moves to the trash at once; the session and the trash go on another thread."""
        with self._lock:
            kernel = self._kernels.pop(container_id, None)
            self._run_locks.pop(container_id, None)
            self._db.execute("DELETE FROM container_files WHERE container_id = ?", (container_id,))
            self._db.commit()
        trash = self._to_trash(self.root / container_id)
        if kernel is not None:
            kernel.close(
                "The container was deleted or expired while the code ran; its session and "
                "files are gone",
                wait=False,
            )
        threading.Thread(
            target=_finish_discard, args=(kernel, trash), name="agentkit-discard", daemon=True
        ).start()

    def _to_trash(self, folder: Path) -> Path | None:
        trash = self.root / leftovers.TRASH / f"{folder.name}-{secrets.token_hex(4)}"
        try:
            folder.rename(trash)
        except FileNotFoundError:
            return None
        return trash

    def _touch(self, container_id: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE containers SET last_active_at = ? WHERE id = ?", (time.time(), container_id)
            )
            self._db.commit()

    # --- running code ----------------------------------------------------------------------

    def run(self, container_id: str, code: str) -> RunResult:
        """Run a code cell in the container's session (blocking: run it on `cells`)."""
        record = self.active(container_id)
        with self._lock:
            run_lock = self._run_locks.setdefault(container_id, threading.Lock())
        with run_lock:  # this container's cells, one after the other
            kernel = self._kernel(record)
            folder = self.root / record.id / "data"
            self._mark_busy(container_id, 1)
            try:
                execution = kernel.run(code, watch=lambda: self._over_limits(measure(folder)))
            finally:
                self._mark_busy(container_id, -1)
            over = self._over_limits(measure(folder))
            if over is not None:
                kernel.restart()
                self._roll_back(record)
                return RunResult(_rolled_back(execution, over), [])
            changed = self._sync(record)
        return RunResult(execution, changed)

    def interrupt(self, container_id: str, reason: str = "The cell was interrupted") -> None:
        """Stop the container's running cell, if any (from any thread); see `Kernel.interrupt`."""
        with self._lock:
            kernel = self._kernels.get(container_id)
        if kernel is not None:
            kernel.interrupt(reason)

    def _mark_busy(self, container_id: str, change: int) -> None:
        with self._lock:
            self._busy[container_id] = self._busy.get(container_id, 0) + change
            if not self._busy[container_id]:
                del self._busy[container_id]
        self._touch(container_id)

    def _over_limits(self, usage: Usage) -> str | None:
        """Why the folder is over its limits (None: it is not)."""
        limits = self.limits
        if not usage.complete:
            return (
                f"The container's folder went over its limits (more than {MAX_ENTRIES:,} "
                f"entries, or folders more than {MAX_DEPTH} deep)"
            )
        if usage.real > limits.folder_bytes:
            return (
                f"The container's folder went over its size limit: it used {_mib(usage.real)} "
                f"of disk (the limit is {_mib(limits.folder_bytes)})"
            )
        if usage.apparent > limits.folder_apparent_bytes:
            return (
                f"The container's folder went over its size limit: its files add up to "
                f"{_mib(usage.apparent)} (the limit is {_mib(limits.folder_apparent_bytes)}; a "
                "sparse file counts at its full size)"
            )
        return None

    def _roll_back(self, record: ContainerRecord) -> None:
        """Put the folder back as the last snapshots have it: what the code wrote since goes."""
        folder = self.root / record.id / "data"
        trash = self._to_trash(folder)
        if trash is None:  # discarded meanwhile: nothing to put back
            return
        folder.mkdir(mode=0o700)
        if record.uid is not None:
            os.chown(folder, record.uid, record.uid)
        for entry in self.files(record.id):
            try:
                with open(self.content_path(entry), "rb") as blob:
                    mtime_ns = write_inside(folder, entry.relative, blob.fileno(), record.uid)
                self._save(replace(entry, mtime_ns=mtime_ns))
            except (OSError, APIError):
                self._forget(entry)
        leftovers.remove_later(trash)

    def _kernel(self, record: ContainerRecord) -> Kernel:
        with self._lock:
            kernel = self._kernels.get(record.id)
            if kernel is None:
                folder = self.root / record.id
                kernel = Kernel(
                    folder / "data",
                    folder / "private",
                    uid=record.uid,
                    limits=self.limits,
                    memory_bytes=MEMORY_LIMITS.get(record.memory_limit),
                    owner=self._claim.token,
                )
                self._kernels[record.id] = kernel
        return kernel

    def _sync(self, record: ContainerRecord) -> list[ContainerFile]:
        """Snapshot what the code created or changed; forget what it deleted."""
        data = self.root / record.id / "data"
        found = measure(data).files
        known = {f.relative: f for f in self.files(record.id)}
        changed: list[ContainerFile] = []
        for relative, (size, mtime_ns) in found.items():
            old = known.get(relative)
            if old is not None and (old.bytes, old.mtime_ns) == (size, mtime_ns):
                continue
            with contextlib.suppress(OSError, APIError):
                changed.append(self._snapshot(record.id, relative, old))
        for relative, old in known.items():
            if relative not in found:
                self._forget(old)
        return changed

    def _snapshot(
        self, container_id: str, relative: str, old: ContainerFile | None
    ) -> ContainerFile:
        data = self.root / container_id / "data"
        file_id = old.id if old else container_file_id()
        fd = open_inside(data, relative)
        try:
            info = os.fstat(fd)
            size = self._copy_out(fd, self.root / container_id / "blobs" / file_id)
        finally:
            os.close(fd)
        entry = ContainerFile(
            file_id,
            container_id,
            f"{DATA_PATH}/{relative}",
            size,
            old.created_at if old else int(time.time()),
            old.source if old else "assistant",
            info.st_mtime_ns,
        )
        self._save(entry)
        return entry

    def _copy_out(self, source: int, blob: Path) -> int:
        """Snapshot a file of the folder (holes stay holes), refusing files over the cap."""
        if os.fstat(source).st_size > self.max_file_bytes:
            raise too_large(self.max_file_bytes)
        partial = blob.with_name(blob.name + ".partial")
        try:
            target = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                size = copy_sparse(source, target)
            finally:
                os.close(target)
            partial.replace(blob)
        finally:
            partial.unlink(missing_ok=True)
        return size

    # --- files -----------------------------------------------------------------------------

    def files(self, container_id: str) -> list[ContainerFile]:
        """The container's files, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM container_files WHERE container_id = ? ORDER BY created_at, rowid",
                (container_id,),
            ).fetchall()
        return [ContainerFile(*row) for row in rows]

    def file(self, container_id: str, file_id: str) -> ContainerFile:
        self.active(container_id)
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM container_files WHERE id = ? AND container_id = ?",
                (file_id, container_id),
            ).fetchone()
        if row is None:
            raise not_found(f"File with id '{file_id}' not found in container '{container_id}'.")
        return ContainerFile(*row)

    def content_path(self, entry: ContainerFile) -> Path:
        return self.root / entry.container_id / "blobs" / entry.id

    def add_file(self, container_id: str, filename: str, source: BinaryIO) -> ContainerFile:
        """Put an upload into the container's folder, as `/mnt/data/<filename>`."""
        record = self.active(container_id)
        name = _safe_name(filename)
        staged = self.root / container_id / "private" / f"upload-{secrets.token_hex(8)}"
        try:
            copy_capped(source, staged, self.max_file_bytes)
            with open(staged, "rb") as data:
                entry = self._place(record, name, data)
        finally:
            staged.unlink(missing_ok=True)
        self._touch(container_id)
        return entry

    def copy_upload(self, container_id: str, file_id: str, param: str = "file_id") -> ContainerFile:
        """Copy an uploaded file (Files API) into the container, under its filename."""
        record = self.active(container_id)
        upload = self._upload(file_id, param)
        with open(self.uploads.path(upload.id), "rb") as data:
            entry = self._place(record, _safe_name(upload.filename), data)
        self._touch(container_id)
        return entry

    def has_upload(self, container_id: str, filename: str) -> bool:
        return any(f.relative == _safe_name(filename) for f in self.files(container_id))

    def delete_file(self, container_id: str, file_id: str) -> None:
        entry = self.file(container_id, file_id)
        data = self.root / container_id / "data"
        with contextlib.suppress(OSError):
            remove_inside(data, entry.relative)
        self._forget(entry)

    def _upload(self, file_id: str, param: str) -> Any:
        upload = self.uploads.get(file_id)
        if upload is None:
            raise not_found(f"File with id '{file_id}' not found.", param)
        return upload

    def _place(self, record: ContainerRecord, name: str, data: BinaryIO) -> ContainerFile:
        """Write into the folder without following links the code may have planted there."""
        folder = self.root / record.id / "data"
        existing = {f.relative: f for f in self.files(record.id)}.get(name)
        file_id = existing.id if existing else container_file_id()
        blob = self.root / record.id / "blobs" / file_id
        size = copy_capped(data, blob, self.max_file_bytes)
        try:
            self._check_room(record.id, size - (existing.bytes if existing else 0))
            with open(blob, "rb") as snapshot:
                mtime_ns = write_inside(folder, name, snapshot.fileno(), record.uid)
        except BaseException:
            if existing is None:
                blob.unlink(missing_ok=True)
            raise
        entry = ContainerFile(
            file_id,
            record.id,
            f"{DATA_PATH}/{name}",
            size,
            existing.created_at if existing else int(time.time()),
            "user",
            mtime_ns,
        )
        self._save(entry)
        return entry

    def _check_room(self, container_id: str, adding: int) -> None:
        usage = measure(self.root / container_id / "data")
        usage.real += max(0, adding)
        usage.apparent += max(0, adding)
        over = self._over_limits(usage)
        if over is not None:
            raise invalid(
                f"Cannot add this file to container '{container_id}': {over[0].lower()}{over[1:]}.",
                "file",
                "container_full",
            )

    def _save(self, entry: ContainerFile) -> None:
        with self._lock:
            self._db.execute(
                # An upsert keeps the row (and so the file's place in lists) when it changes.
                "INSERT INTO container_files VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO "
                "UPDATE SET path = excluded.path, bytes = excluded.bytes, "
                "source = excluded.source, mtime_ns = excluded.mtime_ns",
                (
                    entry.id,
                    entry.container_id,
                    entry.path,
                    entry.bytes,
                    entry.created_at,
                    entry.source,
                    entry.mtime_ns,
                ),
            )
            self._db.commit()

    def _forget(self, entry: ContainerFile) -> None:
        with self._lock:
            self._db.execute("DELETE FROM container_files WHERE id = ?", (entry.id,))
            self._db.commit()
        self.content_path(entry).unlink(missing_ok=True)


def container_file_id() -> str:
    """An id such as `cfile_6903bf45e3288191af3d56e6d23c3a4d`, as the service's."""
    return "cfile_" + os.urandom(16).hex()


def expired_error(container_id: str, param: str | None) -> APIError:
    return invalid(
        f"Container '{container_id}' has expired: it was idle longer than its "
        "expires_after time, and its files were discarded. Create a new container, or use "
        '{"type": "auto"} to have one created.',
        param,
        "container_expired",
    )


def _safe_name(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if name in ("", ".", "..") or "\x00" in name:
        raise invalid(f"Invalid file name: {filename!r}.", "file")
    return name


def _rolled_back(execution: Execution, over: str) -> Execution:
    logs = execution.logs.removesuffix(execution.failed or "").rstrip("\n")
    failed = f"{over}; {ROLLED_BACK}."
    return Execution(f"{logs}\n{failed}" if logs else failed, [], failed)


def _mib(size: int) -> str:
    return f"{size / 1024**2:,.1f} MiB"


def _finish_discard(kernel: Kernel | None, trash: Path | None) -> None:
    if kernel is not None:
        kernel.close()
    if trash is not None:
        leftovers.remove_tree(trash)


def _shut(
    kernels: dict[str, Kernel],
    db: sqlite3.Connection,
    cells: ThreadPoolExecutor,
    claim: leftovers.Claim,
    temporary: Path | None,
) -> None:
    for kernel in list(kernels.values()):
        kernel.close()
    kernels.clear()
    cells.shutdown(wait=False, cancel_futures=True)
    db.close()
    claim.release()
    if temporary is not None:  # what code made there may be beyond shutil.rmtree's reach
        leftovers.remove_tree(temporary)
