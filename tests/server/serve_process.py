"""`agentkit serve` as a real subprocess, for the tests that need one."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30
KEY_VARIABLES = ("AGENTKIT_SERVER_API_KEY", "AGENTKIT_DB")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Serving:
    """A running `agentkit serve` process, what it printed on start, and its log (stderr,
    read as it comes so a busy server never blocks on a full pipe)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agentkit.cli", "serve", "--port", str(self.port), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        # Two lines, flushed together: read both here (communicate() bypasses this buffer).
        self.banner = self.process.stdout.readline() + self.process.stdout.readline()
        self._log: list[str] = []
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        self._wait_until_listening()

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._log.append(line)

    @property
    def log(self) -> str:
        """What the server has written to stderr so far."""
        return "".join(self._log)

    def wait_for_log(self, pattern: str, seconds: float = 10) -> re.Match[str]:
        """The first match of `pattern` in the log, waiting for it to be written."""
        deadline = time.monotonic() + seconds
        while (found := re.search(pattern, self.log)) is None:
            if time.monotonic() > deadline:
                pytest.fail(f"no {pattern!r} in the server's log:\n{self.log}")
            time.sleep(0.02)
        return found

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._reader.join(5)
                pytest.fail(f"agentkit serve exited with {self.process.returncode}: {self.log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.process.kill()
        pytest.fail(f"agentkit serve did not listen on {self.port} within {STARTUP_SECONDS} s")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def printed_base_url(self) -> str:
        found = re.search(r"Responses API at (\S+)", self.banner)
        assert found is not None, self.banner
        return found.group(1)

    def stop(self, sig: int) -> tuple[int, str, str]:
        """Send `sig`, wait for the exit; return (exit code, rest of stdout, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        return self.process.returncode, self._finish(), self.log

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(15)
        self._finish()

    def _finish(self) -> str:
        """The rest of stdout, once stderr has been read to its end (not `communicate()`: it
        would race the log reader for stderr)."""
        assert self.process.stdout is not None
        if self.process.stdout.closed:  # finished already
            return ""
        out = self.process.stdout.read()
        self.process.stdout.close()
        self._reader.join(5)
        assert self.process.stderr is not None
        self.process.stderr.close()
        return out


Serve = Callable[..., Serving]
"""The `serve` fixture: `serve(*args, env=None)` starts `agentkit serve ARGS`."""


def server_env() -> dict[str, str]:
    """This process's environment without agentkit's server variables."""
    return {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
