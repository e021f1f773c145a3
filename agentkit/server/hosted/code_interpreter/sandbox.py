"""A container's Python session: a sandboxed subprocess with limits, driven one cell at a time.

What is and is not isolated is documented in `docs/server.md` ("Code interpreter sandbox").
In short: resource limits always (`RLIMIT_CPU`, `RLIMIT_AS`, `RLIMIT_FSIZE`, `RLIMIT_NPROC`,
`RLIMIT_NOFILE`), a wall-clock timeout that kills the whole session, a scrubbed environment;
and where Linux namespaces are available (root, or unprivileged user namespaces), no network,
a private pid namespace, private scratch mounts, the container's folder at `/mnt/data`, and
(as root) a user id of its own. Without namespaces, sockets are refused at the Python level
only, which is not a security boundary.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import select
import signal
import site
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger("agentkit.server")

Isolation = Literal["auto", "namespaces", "none"]
KERNEL = Path(__file__).with_name("sandbox_kernel.py")
MAX_REPLY_BYTES = 64 * 1024 * 1024
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class SandboxLimits:
    """How much one container's Python session may use.

    Args:
        timeout: Wall-clock seconds one code cell may run; then the session is killed (its
            variables are lost, its files stay) and the call reports the timeout.
        cpu_seconds: CPU seconds per session process (`RLIMIT_CPU`); it is killed at the limit.
        memory_bytes: Address space per process (`RLIMIT_AS`) when the container sets no
            `memory_limit`.
        file_bytes: Largest file a process may write (`RLIMIT_FSIZE`).
        processes: Processes and threads the session may have at once (`RLIMIT_NPROC`).
        open_files: Open file descriptors per process (`RLIMIT_NOFILE`).
        scratch_size: Size of each private tmpfs (/tmp, /var/tmp, /dev/shm) with namespaces.
        output_chars: Logs longer than this are cut (the start and the end are kept).
        isolation: "namespaces" (fail without them), "none", or "auto" (namespaces when
            this machine allows them, else none with a warning).
    """

    timeout: float = 60.0
    cpu_seconds: int = 300
    memory_bytes: int = 1024**3
    file_bytes: int = 256 * 1024**2
    processes: int = 64
    open_files: int = 256
    scratch_size: str = "64m"
    output_chars: int = 20_000
    isolation: Isolation = "auto"
    startup_timeout: float = 20.0


@dataclass(frozen=True)
class Execution:
    """What one code cell did: its logs (stdout and stderr), images it showed, and whether the
    session failed (`failed` says why: a timeout, a limit, a crash)."""

    logs: str
    images: list[bytes]
    failed: str | None = None


class SandboxError(Exception):
    """The session could not be started."""


class _IsolationUnavailable(SandboxError):
    pass


_namespaces_work: bool | None = None
"""Whether this machine let a session enter namespaces (None: not tried yet)."""


class Kernel:
    """One container's Python session, started on first use and again after it dies."""

    def __init__(
        self,
        data_dir: Path,
        private_dir: Path,
        *,
        uid: int | None,
        limits: SandboxLimits,
        memory_bytes: int | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.private_dir = private_dir
        self.uid = uid
        self.limits = limits
        self.memory_bytes = memory_bytes or limits.memory_bytes
        self.isolation: str | None = None
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._requests = -1
        self._replies = -1
        self._buffer = b""
        self._log_path = private_dir / "session.log"

    # --- running code ----------------------------------------------------------------------

    def run(self, code: str) -> Execution:
        """Run one cell (blocking; one cell at a time per session)."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._stop()
                self._start()
            os.truncate(self._log_path, 0)
            deadline = time.monotonic() + self.limits.timeout
            reply = self._exchange({"code": code}, deadline)
            failed = None
            if reply is None:
                failed = (
                    f"Execution timed out after {self.limits.timeout:g} seconds; the Python "
                    "session was stopped (its variables are lost, its files are kept)."
                )
                self._stop()
            elif "done" not in reply:
                failed = self._death_notice()
                self._stop()
            logs = self._read_logs()
            if failed:
                logs = f"{logs}\n{failed}" if logs else failed
            shown = reply.get("images") if reply else None
            images = [_b64(i) for i in shown] if isinstance(shown, list) else []
            return Execution(logs, images, failed)

    def close(self) -> None:
        with self._lock:
            self._stop()

    def interrupt(self) -> None:
        """Kill the running cell's session from another thread; `run` then reports it failed."""
        process = self._process
        if process is not None and process.poll() is None:
            _end(process, graceful=self.isolation == "namespaces")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # --- the session process ---------------------------------------------------------------

    def _start(self) -> None:
        global _namespaces_work
        wanted = self.limits.isolation
        if wanted == "none" or (wanted == "auto" and _namespaces_work is False):
            self._spawn("none")
            return
        try:
            self._spawn("namespaces")
            _namespaces_work = True
        except _IsolationUnavailable as error:
            if wanted == "namespaces":
                raise SandboxError(f"the sandbox could not enter namespaces: {error}") from None
            _namespaces_work = False
            log.warning(
                "code interpreter: Linux namespaces are not available (%s); sessions run "
                "with resource limits only, WITHOUT network or filesystem isolation",
                error,
            )
            self._spawn("none")

    def _spawn(self, isolation: str) -> None:
        request_read, self._requests = os.pipe()
        self._replies, reply_write = os.pipe()
        self._buffer = b""
        log_fd = os.open(self._log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
        config = {
            "isolation": isolation,
            "data": str(self.data_dir),
            "uid": self.uid,
            "request_fd": request_read,
            "reply_fd": reply_write,
            "reexpose": _python_paths(),
            "scratch_size": self.limits.scratch_size,
        }
        argv = [sys.executable, "-I", "-u", "-X", "utf8", str(KERNEL), json.dumps(config)]
        try:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=log_fd,
                pass_fds=(request_read, reply_write),
                cwd=self.data_dir,
                env=self._environment(isolation),
                start_new_session=True,
                preexec_fn=self._limit_preexec(isolation),
            )
        finally:
            os.close(request_read)
            os.close(reply_write)
            os.close(log_fd)
        self.isolation = isolation
        reply = self._read_reply(time.monotonic() + self.limits.startup_timeout)
        if reply is not None and "ready" in reply:
            return
        self._stop()
        if reply is not None and "isolation_error" in reply:
            raise _IsolationUnavailable(str(reply["isolation_error"]))
        raise SandboxError(f"the Python session did not start: {self._read_logs()[-2000:]}")

    def _environment(self, isolation: str) -> dict[str, str]:
        """No keys, no proxies, nothing of the server's environment but a minimal PATH."""
        env = {
            "PATH": f"{Path(sys.executable).parent}:{SAFE_PATH}",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "MPLBACKEND": "Agg",
            "HOME": "/tmp",
        }
        if isolation == "none":
            home = self.private_dir / "home"
            home.mkdir(exist_ok=True)
            env |= {"HOME": str(home), "TMPDIR": str(home)}
        return env

    def _limit_preexec(self, isolation: str) -> Callable[[], None]:
        limits = self.limits
        memory = self.memory_bytes
        processes = limits.processes
        if self.uid is None or isolation == "none":
            # The session shares the server's user id: RLIMIT_NPROC counts that user's
            # processes, so allow for the ones already running.
            processes += _processes_of(os.getuid())

        import resource  # POSIX only: imported here so that the server itself runs anywhere

        def apply() -> None:  # runs in the child between fork and exec: only setrlimit calls
            # Soft = hard: the session is killed at the limit (pid 1 of a namespace would
            # ignore the SIGXCPU a lower soft limit sends).
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
            resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
            resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        return apply

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            _end(process, graceful=self.isolation == "namespaces")
        for fd in (self._requests, self._replies):
            if fd >= 0:
                os.close(fd)
        self._requests = self._replies = -1

    def _death_notice(self) -> str:
        process = self._process
        code = process.wait(5) if process is not None else None
        why = f"exit status {code}"
        if code is not None and code < 0:
            why = f"killed by {signal.Signals(-code).name}"
            if -code in (signal.SIGXCPU, signal.SIGKILL):
                why += f" (the CPU limit is {self.limits.cpu_seconds} s per session)"
        return (
            f"The Python session ended unexpectedly ({why}); it starts again on the next call "
            "(its variables are lost, its files are kept)."
        )

    # --- the protocol ----------------------------------------------------------------------

    def _exchange(self, request: dict[str, str], deadline: float) -> dict[str, object] | None:
        """Send a request; the reply, None on timeout, or {} when the session died."""
        data = (json.dumps(request) + "\n").encode()
        try:
            while data:
                if not select.select([], [self._requests], [], _left(deadline))[1]:
                    return None
                data = data[os.write(self._requests, data) :]
        except (BrokenPipeError, OSError):
            return {}
        return self._read_reply(deadline)

    def _read_reply(self, deadline: float) -> dict[str, object] | None:
        while b"\n" not in self._buffer:
            if not select.select([self._replies], [], [], _left(deadline))[0]:
                return None
            chunk = os.read(self._replies, 1 << 16)
            if not chunk or len(self._buffer) > MAX_REPLY_BYTES:
                return {}
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            reply = json.loads(line)
        except ValueError:
            return {}
        return reply if isinstance(reply, dict) else {}

    def _read_logs(self) -> str:
        cap = self.limits.output_chars
        try:
            with open(self._log_path, "rb") as f:
                head = f.read(cap * 4)
                size = os.fstat(f.fileno()).st_size
                tail = b""
                if size > len(head):
                    f.seek(max(len(head), size - cap * 2))
                    tail = f.read()
        except FileNotFoundError:
            return ""
        text = head.decode("utf-8", "replace")
        if tail or len(text) > cap:
            end = tail.decode("utf-8", "replace")[-cap // 2 :] if tail else text[-cap // 2 :]
            cut = size - len(text[: cap // 2].encode()) - len(end.encode())
            text = f"{text[: cap // 2]}\n... ({cut} bytes of output cut) ...\n{end}"
        return text


def _end(process: subprocess.Popen[bytes], *, graceful: bool) -> None:
    """Stop a session and every process it started.

    With namespaces the process is the namespace's parent: SIGTERM makes it kill pid 1 and reap
    it, and when pid 1 dies the kernel kills every other process of the namespace. Otherwise
    (or if that takes too long) the session's process group is killed; processes that left it
    with `setsid` survive that, which is one reason `none` is not a sandbox.
    """
    if graceful and process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _b64(value: object) -> bytes:
    return base64.b64decode(str(value))


def _python_paths() -> list[str]:
    """Where the session's Python lives (its installation, the virtual environment, their
    packages): what the sandbox shows besides the system's folders."""
    places = (sys.base_prefix, sys.prefix, *site.getsitepackages(), sysconfig.get_path("stdlib"))
    paths = {os.path.realpath(p) for p in places if p}
    found = sorted(p for p in paths if os.path.isdir(p))
    return [p for p in found if not any(p != q and p.startswith(q + "/") for q in found)]


def _processes_of(uid: int) -> int:
    count = 0
    if not os.path.isdir("/proc"):
        return 256  # no way to count here: leave room
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
    return count
