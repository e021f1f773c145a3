"""How this process isolates code interpreter sessions: decided once, from a probe of the
machine (can this user build the sandbox's namespaces?), and said in the log at startup.

Never from a session that failed: one session's failure is its own call's (see `sandbox.py`).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Isolation = Literal["auto", "namespaces", "none"]
KERNEL = Path(__file__).with_name("sandbox_kernel.py")
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class IsolationLevel:
    """How this process isolates sessions: `mode` None means code cannot run at all."""

    mode: Literal["namespaces", "none"] | None
    why: str = ""

    def describe(self) -> tuple[int, str]:
        """The startup log line: its level and its text."""
        if self.mode == "namespaces":
            if os.geteuid() == 0:
                return logging.INFO, (
                    "code interpreter: sessions run in Linux namespaces, each container as a "
                    "user of its own (no network, a private root and process tree)"
                )
            return logging.INFO, (
                "code interpreter: sessions run in Linux namespaces through an unprivileged user "
                "namespace (no network, a private root and process tree; every container runs "
                "as this server's user)"
            )
        if self.mode == "none":
            return logging.WARNING, (
                f"code interpreter: {self.why}; sessions run WITHOUT isolation (resource limits "
                "only: code can read and write what this server's user can, and reach the "
                "network). Run the server as root or enable unprivileged user namespaces to "
                "isolate them, or set isolation='namespaces' to refuse code instead"
            )
        return logging.ERROR, (
            f"code interpreter: isolation='namespaces', but {self.why}; every code interpreter "
            "call is refused (400)"
        )

    def refusal(self) -> str:
        """Why code cannot run here (when `mode` is None)."""
        return (
            f"The code interpreter is not available on this server: it requires Linux "
            f"namespaces (isolation='namespaces'), and {self.why}. Run the server as root, "
            "enable unprivileged user namespaces, or set isolation='auto' to run code without "
            "isolation."
        )


_probed: tuple[bool, str] | None = None
_probe_lock = threading.Lock()


def isolation_level(wanted: Isolation) -> IsolationLevel:
    """Decide once, from a probe of this machine, never from a session that failed."""
    if wanted == "none":
        return IsolationLevel("none", "isolation='none'")
    works, why = _probe()
    if works:
        return IsolationLevel("namespaces")
    reason = f"Linux namespaces are not available here ({why})"
    return IsolationLevel(None if wanted == "namespaces" else "none", reason)


def _probe() -> tuple[bool, str]:
    global _probed
    with _probe_lock:
        if _probed is None:
            _probed = _run_probe()
        return _probed


def _run_probe() -> tuple[bool, str]:
    argv = [sys.executable, "-I", str(KERNEL), json.dumps({"probe": True})]
    try:
        done = subprocess.run(
            argv, capture_output=True, timeout=30, env={"PATH": SAFE_PATH}, check=False
        )
        answer = json.loads(done.stdout.decode().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired) as error:
        return False, f"the probe failed: {error}"
    return bool(answer.get("namespaces")), str(answer.get("why", ""))
