"""Reading and writing a folder that sandboxed code controls, without following its links.

The server (often root) reads and writes container folders while code it does not trust may
be changing them: every path is walked one folder at a time by descriptor with `O_NOFOLLOW`,
only regular files are read, and writes go to a fresh name renamed into place. Copies keep a
sparse file's holes, so a file that costs the code no disk costs the server none either.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from agentkit.server.errors import invalid

MAX_FILES = 1000
"""How many files of a container's folder are tracked; more are ignored."""
MAX_DEPTH = 16
MAX_ENTRIES = 20_000
"""Bounds on what one look through a container's folder costs, whatever the code made there;
a folder beyond them is over its limits (see `Usage.complete`)."""
CHUNK = 1024 * 1024

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


@dataclass
class Usage:
    """What one look through a folder found."""

    files: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Regular files (relative path → size, mtime in ns), the first `MAX_FILES` by name."""
    real: int = 0
    """Bytes of disk its entries hold (allocated blocks, folders and links included)."""
    apparent: int = 0
    """Total size of its regular files (a sparse file counts at its full size)."""
    entries: int = 0
    complete: bool = True
    """False when it holds more than `MAX_ENTRIES` entries or folders deeper than `MAX_DEPTH`."""


def measure(folder: Path) -> Usage:
    """Look through `folder` without following links (folders are entered by descriptor, so one
    swapped for a link meanwhile is not entered), at most `MAX_ENTRIES` entries."""
    usage = Usage()
    with contextlib.suppress(OSError):
        _measure_into(os.open(folder, _DIR_FLAGS), "", usage, 0)
    return usage


def scan(folder: Path) -> dict[str, tuple[int, int]]:
    """Regular files under `folder` (relative path → size, mtime); see `measure`."""
    return measure(folder).files


def _measure_into(fd: int, relative: str, usage: Usage, depth: int) -> None:
    try:
        with os.scandir(fd) as listing:
            left = MAX_ENTRIES - usage.entries
            entries = sorted(itertools.islice(listing, left + 1), key=lambda e: e.name)
        if len(entries) > left:
            usage.complete = False
            return
        usage.entries += len(entries)
        for entry in entries:
            if not usage.complete:
                return
            path = f"{relative}/{entry.name}" if relative else entry.name
            with contextlib.suppress(OSError):
                _count(entry, fd, path, usage, depth)
    finally:
        os.close(fd)


def _count(entry: os.DirEntry[str], fd: int, path: str, usage: Usage, depth: int) -> None:
    info = entry.stat(follow_symlinks=False)
    usage.real += info.st_blocks * 512
    if stat.S_ISREG(info.st_mode):
        usage.apparent += info.st_size
        if len(usage.files) < MAX_FILES:
            usage.files[path] = (info.st_size, info.st_mtime_ns)
    elif stat.S_ISDIR(info.st_mode):
        if depth >= MAX_DEPTH:
            usage.complete = False
            return
        _measure_into(os.open(entry.name, _DIR_FLAGS, dir_fd=fd), path, usage, depth + 1)


def _walk_to(
    folder: Path, relative: str, uid: int | None = None, *, create: bool = False
) -> tuple[int, str]:
    """A descriptor of the directory that holds `relative`, reached without links, and its name
    (`create`: making the missing folders on the way, owned by `uid`)."""
    *parents, name = relative.split("/")
    fd = os.open(folder, _DIR_FLAGS)
    try:
        for part in parents:
            if part in ("", ".", ".."):
                raise OSError(f"bad path {relative!r}")
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
                    if uid is not None:
                        os.chown(part, uid, uid, dir_fd=fd, follow_symlinks=False)
            next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = next_fd
    except BaseException:
        os.close(fd)
        raise
    return fd, name


def open_inside(folder: Path, relative: str) -> int:
    """Open a regular file under `folder` for reading; refuses links, FIFOs and devices."""
    parent, name = _walk_to(folder, relative)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=parent)
    finally:
        os.close(parent)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{relative!r} is not a regular file")
    return fd


def write_inside(folder: Path, relative: str, source: int, uid: int | None) -> int:
    """Copy the file open as `source` into `folder` under `relative` (replacing a file or link
    there, making missing folders); its mtime."""
    parent, name = _walk_to(folder, relative, uid, create=True)
    temporary = f".upload-{secrets.token_hex(8)}"
    try:
        fd = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=parent
        )
        try:
            copy_sparse(source, fd)
            if uid is not None:
                os.fchown(fd, uid, uid)
        finally:
            os.close(fd)
        try:
            os.rename(temporary, name, src_dir_fd=parent, dst_dir_fd=parent)
        except OSError:
            os.unlink(temporary, dir_fd=parent)
            raise invalid(
                f"Cannot write '{relative}' in the container: a folder has that name."
            ) from None
        return os.stat(name, dir_fd=parent, follow_symlinks=False).st_mtime_ns
    finally:
        os.close(parent)


def copy_sparse(source: int, target: int) -> int:
    """Copy a regular file's data from descriptor to descriptor, its holes left holes; its size.

    At most the size the source has when the copy starts is copied.
    """
    size = os.fstat(source).st_size
    offset = 0
    while offset < size:
        try:
            start = os.lseek(source, offset, os.SEEK_DATA)
            end = min(os.lseek(source, start, os.SEEK_HOLE), size)
        except OSError as error:
            if error.errno == errno.ENXIO:  # nothing but a hole from here on
                break
            start, end = offset, size  # a filesystem that cannot tell: all of it is data
        _copy_range(source, target, start, end)
        offset = end
    os.ftruncate(target, size)
    return size


def _copy_range(source: int, target: int, start: int, end: int) -> None:
    while start < end:
        chunk = os.pread(source, min(CHUNK, end - start), start)
        if not chunk:
            return
        os.pwrite(target, chunk, start)
        start += len(chunk)


def remove_inside(folder: Path, relative: str) -> None:
    parent, name = _walk_to(folder, relative)
    try:
        os.unlink(name, dir_fd=parent)
    finally:
        os.close(parent)
