"""A container's Python session: a sandboxed subprocess with limits, driven one cell at a time.

What is and is not isolated is documented in `docs/server.md` ("Security"). In short: resource
limits always (`RLIMIT_CPU`, `RLIMIT_AS`, `RLIMIT_FSIZE`, `RLIMIT_NPROC`, `RLIMIT_NOFILE`), a
wall-clock timeout that kills the whole session, a scrubbed environment, no process outliving
its cell or the server; and where Linux namespaces are available (root, or unprivileged user
namespaces), no network, a private pid namespace, a private root with a minimal /dev and one
size-capped scratch tmpfs, the container's folder at `/mnt/data`, and (as root) a user id of
its own. Without namespaces, sockets are refused at the Python level only, which is not a
security boundary. Which of these applies is decided once per process (`isolation.py`).
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
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agentkit.server.hosted.code_interpreter.isolation import (
    KERNEL,
    SAFE_PATH,
    Isolation,
    isolation_level,
)

log = logging.getLogger("agentkit.server")

MAX_REPLY_BYTES = 64 * 1024 * 1024
WATCH_INTERVAL = 0.25
"""Seconds between two looks at a running cell's container (its folder's size)."""
STOPPED = "the Python session was stopped (its variables are lost, its files are kept)"

Watch = Callable[[], "str | None"]
"""Called while a cell runs: a reason to stop the session, or None."""


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
        scratch_size: Size of the one private tmpfs behind /tmp, /var/tmp, /dev/shm and /run
            (with namespaces).
        folder_bytes: Disk space (allocated blocks) a container's folder may use.
        folder_apparent_bytes: Total size of the files in a container's folder, a sparse file
            counting at its full size: also the most the server copies out of one container.
        output_chars: Logs longer than this are cut (the start and the end are kept).
        isolation: "namespaces" (refuse code without them), "none", or "auto" (namespaces
            when this machine allows them, else none, said at startup with a warning).
        startup_timeout: Seconds a session may take to start.
        running_cells: Cells that may run at once, server-wide; more wait their turn (on
            threads of their own: they never hold up other requests).
    """

    timeout: float = 60.0
    cpu_seconds: int = 300
    memory_bytes: int = 1024**3
    file_bytes: int = 256 * 1024**2
    processes: int = 64
    open_files: int = 256
    scratch_size: str = "64m"
    folder_bytes: int = 1024**3
    folder_apparent_bytes: int = 2 * 1024**3
    output_chars: int = 20_000
    isolation: Isolation = "auto"
    startup_timeout: float = 20.0
    running_cells: int = 8


@dataclass(frozen=True)
class Execution:
    """What one code cell did: its logs (stdout and stderr), images it showed, and whether the
    session failed (`failed` says why: a timeout, a limit, a crash)."""

    logs: str
    images: list[bytes]
    failed: str | None = None


class SandboxError(Exception):
    """The session could not be started."""


class _Stopped(Exception):
    """The cell was stopped before it ended (interrupted, or a watch said so)."""


# --- a session ---------------------------------------------------------------------------------


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
        owner: str = "",
    ) -> None:
        # Absolute: the session starts in the folder and must not resolve it a second time.
        self.data_dir = Path(os.path.abspath(data_dir))
        self.private_dir = Path(os.path.abspath(private_dir))
        self.uid = uid
        self.limits = limits
        self.memory_bytes = memory_bytes or limits.memory_bytes
        self.owner = owner
        self.level = isolation_level(limits.isolation)
        self.isolation: str | None = None
        self._lock = threading.Lock()  # one cell at a time
        self._state = threading.Lock()  # guards the three fields below, never held for long
        self._running = False
        self._closed = False
        self._why_stopped = ""
        self._wake, self._waker = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        weakref.finalize(self, _close_fds, self._wake, self._waker)
        self._process: subprocess.Popen[bytes] | None = None
        self._requests = -1
        self._replies = -1
        self._buffer = b""
        self._log_path = self.private_dir / "session.log"

    # --- running code ----------------------------------------------------------------------

    def run(self, code: str, *, watch: Watch | None = None) -> Execution:
        """Run one cell (blocking; one cell at a time per session). `watch` is asked every
        `WATCH_INTERVAL` seconds whether to stop it."""
        with self._lock:
            with self._state:
                if self._closed:
                    return _failure(f"The container was stopped; {STOPPED}.")
                self._running = True
                self._why_stopped = ""
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake, 64)
            try:
                return self._run(code, watch)
            finally:
                with self._state:
                    self._running = False

    def interrupt(self, reason: str = "The cell was interrupted") -> None:
        """Stop the running cell, if there is one (from any thread); its session is stopped."""
        with self._state:
            if self._running and not self._why_stopped:  # the first reason is the one to tell
                self._why_stopped = reason
                with contextlib.suppress(BlockingIOError):
                    os.write(self._waker, b"x")

    def close(
        self,
        reason: str = "The container was stopped while the code ran; its session is gone",
        *,
        wait: bool = True,
    ) -> None:
        """Stop the session for good: a running cell is interrupted (`reason` says why), and,
        unless `wait` is false, the session is stopped before this returns."""
        with self._state:
            self._closed = True
        self.interrupt(reason)
        if wait:
            with self._lock:
                self._stop()

    def restart(self) -> None:
        """Stop the session now; the next cell starts a new one."""
        with self._lock:
            self._stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _run(self, code: str, watch: Watch | None) -> Execution:
        try:
            if self._process is None or self._process.poll() is not None:
                self._stop()
                self._start()
        except _Stopped as stopped:
            self._stop()
            return _failure(self._stopped(stopped.args[0]))
        except (SandboxError, OSError) as error:  # this call fails; nothing else changes
            if self._closed:  # its folder went with the container
                return _failure(self._stopped(self._why_stopped))
            log.error("code interpreter: the Python session could not start: %s", error)
            return _failure(f"The Python session could not start: {error}")
        with contextlib.suppress(OSError):  # a container discarded meanwhile has no log
            os.truncate(self._log_path, 0)
        deadline = time.monotonic() + self.limits.timeout
        failed = None
        reply: dict[str, object] = {}
        try:
            reply = self._exchange({"code": code}, deadline, watch)
            if "done" not in reply:
                failed = self._death_notice()
        except TimeoutError:
            failed = f"Execution timed out after {self.limits.timeout:g} seconds; {STOPPED}."
        except _Stopped as stopped:
            failed = self._stopped(stopped.args[0])
        if failed:
            self._stop()
        logs = self._read_logs()
        if failed:
            logs = f"{logs}\n{failed}" if logs else failed
        shown = reply.get("images") if not failed else None
        images = [_b64(i) for i in shown] if isinstance(shown, list) else []
        return Execution(logs, images, failed)

    def _stopped(self, reason: str) -> str:
        return f"{reason}." if self._closed else f"{reason}; {STOPPED}."

    # --- the session process ---------------------------------------------------------------

    def _start(self) -> None:
        mode = self.level.mode
        if mode is None:
            raise SandboxError(self.level.refusal())
        self._spawn(mode)

    def _spawn(self, isolation: str) -> None:
        log_fd = os.open(self._log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
        request_read, self._requests = os.pipe()
        self._replies, reply_write = os.pipe()
        self._buffer = b""
        config = {
            "isolation": isolation,
            "data": str(self.data_dir),
            "uid": self.uid,
            "request_fd": request_read,
            "reply_fd": reply_write,
            "reexpose": _python_paths(),
            "scratch_size": self.limits.scratch_size,
            "server_pid": os.getpid(),
            "owner": self.owner,
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
        try:
            reply = self._read_reply(time.monotonic() + self.limits.startup_timeout, None)
        except TimeoutError:
            reply = {}
        if "ready" in reply:
            return
        self._stop()
        if "start_error" in reply:
            raise SandboxError(f"{isolation} sandbox: {reply['start_error']}")
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
            _end(process)
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

    def _exchange(
        self, request: dict[str, str], deadline: float, watch: Watch | None
    ) -> dict[str, object]:
        """Send a request; the reply, or {} when the session died. Raises TimeoutError at the
        deadline and `_Stopped` when interrupted or told to stop by `watch`."""
        data = (json.dumps(request) + "\n").encode()
        while data:
            self._wait(deadline, watch, write=self._requests)
            try:
                data = data[os.write(self._requests, data) :]
            except OSError:  # the session died
                return {}
        return self._read_reply(deadline, watch)

    def _read_reply(self, deadline: float, watch: Watch | None) -> dict[str, object]:
        while b"\n" not in self._buffer:
            self._wait(deadline, watch, read=self._replies)
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

    def _wait(
        self, deadline: float, watch: Watch | None, *, read: int = -1, write: int = -1
    ) -> None:
        """Until `read` is readable or `write` writable; or the deadline, an interrupt, or a
        reason from `watch`."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            timeout = min(left, WATCH_INTERVAL) if watch else left
            readable, writable, _ = select.select(
                [fd for fd in (read, self._wake) if fd >= 0],
                [write] if write >= 0 else [],
                [],
                timeout,
            )
            if self._wake in readable:
                raise _Stopped(self._why_stopped)
            if readable or writable:
                return
            reason = watch() if watch else None
            if reason:
                raise _Stopped(reason)

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


def _end(process: subprocess.Popen[bytes]) -> None:
    """Stop a session and every process it started.

    SIGTERM makes the supervisor kill the kernel and reap what is left (with namespaces, the
    kernel is pid 1, and its death kills every other process of the namespace). Should the
    supervisor not end in time (without namespaces, code may have killed it), the session's
    process group is killed; processes that left it with `setsid` then survive, which is one
    reason `none` is not a sandbox.
    """
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _failure(message: str) -> Execution:
    return Execution(message, [], message)


def _close_fds(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


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
