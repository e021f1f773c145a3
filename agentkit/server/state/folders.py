"""Reading and writing a folder that sandboxed code controls, without following its links.

The server (often root) reads and writes container folders while code it does not trust may
be changing them: every path is walked one folder at a time by descriptor with `O_NOFOLLOW`,
only regular files are read, and writes go to a fresh name renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from pathlib import Path
from typing import BinaryIO

from agentkit.server.errors import invalid

MAX_FILES = 1000
"""How many files of a container's folder are tracked; more are ignored."""
MAX_DEPTH = 16
MAX_ENTRIES = 20_000
"""Bounds on what one look through a container's folder costs, whatever the code made there."""

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def scan(folder: Path) -> dict[str, tuple[int, int]]:
    """Regular files under `folder` (relative path → size, mtime), without following links
    (folders are entered by descriptor, so one swapped for a link meanwhile is not entered).
    At most `MAX_FILES` files, `MAX_DEPTH` folders deep, `MAX_ENTRIES` entries looked at."""
    found: dict[str, tuple[int, int]] = {}
    budget = [MAX_ENTRIES]
    with contextlib.suppress(OSError):
        _scan_into(os.open(folder, _DIR_FLAGS), "", found, budget, 0)
    return found


def _scan_into(
    fd: int, relative: str, found: dict[str, tuple[int, int]], budget: list[int], depth: int
) -> None:
    try:
        with os.scandir(fd) as listing:
            entries = sorted(listing, key=lambda e: e.name)
        for entry in entries:
            budget[0] -= 1
            if budget[0] < 0 or len(found) >= MAX_FILES:
                return
            path = f"{relative}/{entry.name}" if relative else entry.name
            with contextlib.suppress(OSError):
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(info.st_mode):
                    found[path] = (info.st_size, info.st_mtime_ns)
                elif stat.S_ISDIR(info.st_mode) and depth < MAX_DEPTH:
                    inner = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
                    _scan_into(inner, path, found, budget, depth + 1)
    finally:
        os.close(fd)


def _walk_to(folder: Path, relative: str) -> tuple[int, str]:
    """A descriptor of the directory that holds `relative`, reached without links, and its name."""
    *parents, name = relative.split("/")
    fd = os.open(folder, _DIR_FLAGS)
    try:
        for part in parents:
            if part in ("", ".", ".."):
                raise OSError(f"bad path {relative!r}")
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


def write_inside(folder: Path, name: str, data: BinaryIO, uid: int | None) -> int:
    """Write a file into `folder` under `name` (replacing a file or link there); its mtime."""
    parent = os.open(folder, _DIR_FLAGS)
    temporary = f".upload-{secrets.token_hex(8)}"
    try:
        fd = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=parent
        )
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(data, out)
            if uid is not None:
                os.fchown(out.fileno(), uid, uid)
        try:
            os.rename(temporary, name, src_dir_fd=parent, dst_dir_fd=parent)
        except OSError:
            os.unlink(temporary, dir_fd=parent)
            raise invalid(
                f"Cannot write '{name}' in the container: a folder has that name."
            ) from None
        return os.stat(name, dir_fd=parent, follow_symlinks=False).st_mtime_ns
    finally:
        os.close(parent)


def remove_inside(folder: Path, relative: str) -> None:
    parent, name = _walk_to(folder, relative)
    try:
        os.unlink(name, dir_fd=parent)
    finally:
        os.close(parent)
