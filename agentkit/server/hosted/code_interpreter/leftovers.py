"""What a server that was killed (`kill -9`, a crash) left behind, found and removed when the
next server starts: its sessions' processes, its temporary folder, its discarded folders.

Sessions die with their server (a parent-death signal; see `sandbox_kernel.py`); this is what
catches anything that did not. While it runs, each server holds an exclusive `flock` on a file
of its own, `<containers>/.servers/<token>.lock`, which the kernel drops with the process,
however it ends. A lock file no one holds marks a dead server: the sessions whose command line
names its token are killed with their process groups, and its temporary folder, if it had one,
is removed. Nothing is touched on a guess: a folder without a lock file, or whose lock is
held, is left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import signal
import subprocess
import threading
from pathlib import Path

log = logging.getLogger("agentkit.server")

SERVERS = ".servers"
TRASH = ".trash"
"""Folders discarded (expired or deleted containers, rolled-back folders), being removed."""


class Claim:
    """This server's claim on a containers folder: held until `release`, or the process ends."""

    def __init__(self, root: Path) -> None:
        self.token = secrets.token_hex(8)
        folder = root / SERVERS
        folder.mkdir(exist_ok=True)
        self.path = folder / f"{self.token}.lock"
        # Locked before it has its name, so no one ever sees it free while this server lives.
        staged = folder / f".{self.token}.new"
        self._fd = os.open(staged, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        staged.rename(self.path)

    def release(self) -> None:
        if self._fd >= 0:
            self.path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = -1


def clean(root: Path, kernel: Path) -> None:
    """Kill the sessions of dead servers of this containers folder; empty its trash."""
    for lock in sorted((root / SERVERS).glob("*.lock")):
        if _abandoned(lock):
            _kill_sessions(lock.stem, kernel)
            lock.unlink(missing_ok=True)
    for folder in sorted((root / TRASH).glob("*")):
        remove_tree(folder)


def clean_temporary(parent: Path, prefix: str, own: Path, kernel: Path) -> None:
    """Remove the temporary folders (`parent/prefix*`) that dead servers of this user left."""
    for folder in sorted(parent.glob(prefix + "*")):
        with contextlib.suppress(OSError):
            if folder == own or folder.is_symlink() or folder.stat().st_uid != os.getuid():
                continue
            locks = sorted((folder / "containers" / SERVERS).glob("*.lock"))
            if locks and all(_abandoned(lock) for lock in locks):
                for lock in locks:
                    _kill_sessions(lock.stem, kernel)
                log.info("code interpreter: removing %s, left by a server that died", folder)
                remove_tree(folder)


def remove_tree(path: Path) -> None:
    """Remove a folder that sandboxed code filled: any depth, never following a link.

    `rm` walks any depth without recursion limits; without root, folders the code made
    unreadable are opened up first (`chmod -R` does not follow links either).
    """
    if not path.exists() and not path.is_symlink():
        return
    if os.geteuid() != 0:
        subprocess.run(["chmod", "-R", "u+rwX", "--", str(path)], capture_output=True, check=False)
    subprocess.run(
        ["rm", "-rf", "--one-file-system", "--", str(path)], capture_output=True, check=False
    )


def remove_later(path: Path) -> None:
    """`remove_tree` on a thread of its own (the next server's `clean` finishes what it may not)."""
    threading.Thread(target=remove_tree, args=(path,), name="agentkit-trash", daemon=True).start()


def _abandoned(lock: Path) -> bool:
    """Whether no live process holds this lock file (it is then taken, to be removed)."""
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def _kill_sessions(token: str, kernel: Path) -> None:
    """Kill the process group of every session process (supervisor or kernel: both run
    `kernel`, with the owner's token in their configuration) the dead server `token` started."""
    for pid in _session_processes(token, str(kernel)):
        with contextlib.suppress(OSError):
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        log.warning("code interpreter: killed session process %d of a server that died", pid)


def _session_processes(token: str, kernel: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if kernel in argv and argv.index(kernel) + 1 < len(argv):
            with contextlib.suppress(ValueError, AttributeError):
                if json.loads(argv[argv.index(kernel) + 1]).get("owner") == token:
                    found.append(int(entry))
    return found
