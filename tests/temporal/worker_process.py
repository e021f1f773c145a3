"""A Temporal worker in a process of its own, so a test can SIGKILL it mid-activity.

The test side: `WorkerProcess(address, app, task_queue, log, env)` runs
`python -m temporal.worker_process ADDRESS APP TASK_QUEUE` in a new process group, returns once
the worker polls, and can `kill()` the group (SIGKILL) or `stop()` it (SIGTERM). The worker side:
that command imports the module APP and runs the worker that its
`make_worker(client, task_queue)` returns until SIGTERM (on a client from `APP.connect(address)`
when APP has one).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from temporalio.client import Client

TESTS = Path(__file__).resolve().parents[1]
READY = "worker polling"
STARTUP_SECONDS = 30
STOP_SECONDS = 15


def stop_group(process: subprocess.Popen[bytes], sig: int, seconds: float) -> None:
    """Signal the process's whole group, wait for it, and SIGKILL the group if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    try:  # children it left behind would still be in its group
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    pytest.fail(f"process group {process.pid} outlived its leader", pytrace=False)


class WorkerProcess:
    """A worker subprocess for `app` (a module under tests/) polling `task_queue`."""

    def __init__(
        self,
        address: str,
        app: str,
        task_queue: str,
        log: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.command = [sys.executable, "-m", __name__, address, app, task_queue]
        self.log = log
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        assert self.process is not None
        return self.process.poll()

    def __enter__(self) -> WorkerProcess:
        path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                env={**os.environ, **self.env, "PYTHONPATH": path},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self._wait_until_polling()
        return self

    def _wait_until_polling(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while READY not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"worker did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the worker and everything it started: a crash, no shutdown code runs."""
        assert self.process is not None
        stop_group(self.process, signal.SIGKILL, STOP_SECONDS)

    def stop(self) -> None:
        """SIGTERM: the worker shuts down gracefully."""
        assert self.process is not None
        stop_group(self.process, signal.SIGTERM, STOP_SECONDS)

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def serve(address: str, app: str, task_queue: str) -> None:
    """Run `app.make_worker(client, task_queue)` until SIGTERM; the client is
    `app.connect(address)` when the app has one (to add plugins), else a plain one."""
    module = importlib.import_module(app)
    connect = getattr(module, "connect", None)
    client = await (connect(address) if connect else Client.connect(address))
    make_worker = module.make_worker
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    async with make_worker(client, task_queue):
        print(READY, flush=True)
        await stopping.wait()


if __name__ == "__main__":
    asyncio.run(serve(*sys.argv[1:]))
