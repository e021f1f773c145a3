"""Sessions live no longer than their server, their failures stay theirs, and running code never
holds up other requests.

Each test reproduces a fault found by probing the server: sessions spinning on after
`kill -9` of the server (and its temporary folder left behind); a relative `--db` that broke
every call and turned isolation off for the whole process; a container expiring while its
cell ran, which blocked every request for 22 s; sleeping cells that took every thread of the
shared pool, so a file upload waited 35 s. Latencies are compared with a baseline measured in
the same test, and with bounds far from the failures' (whole seconds, the cell's duration).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from code_interpreter_support import calls, fenced, post
from test_sandbox import FAST, fresh_uid, processes_with

from agentkit.server import LocalServer
from agentkit.server.hosted.code_interpreter import leftovers
from agentkit.server.hosted.code_interpreter.isolation import KERNEL, isolation_level
from agentkit.server.hosted.code_interpreter.sandbox import Kernel, SandboxLimits

TOOLS = [{"type": "code_interpreter", "container": {"type": "auto"}}]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def cli_server(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`agentkit serve` in a subprocess: the process and its base URL (stderr in cwd/stderr)."""
    port = free_port()
    argv = [sys.executable, "-m", "agentkit.cli", "serve", "--port", str(port), *args]
    with open(cwd / "stderr", "ab") as stderr:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx2.get(f"{base_url}/responses/resp_none", timeout=1)
                break
            except httpx2.TransportError:
                assert process.poll() is None, (cwd / "stderr").read_text()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        yield process, base_url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(30)


def wait_until(check: Callable[[], bool], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def timed(action: Callable[[], Any]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def in_thread(action: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = action()
        except Exception as error:
            result["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def post_in_thread(base_url: str, body: dict[str, Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """POST /responses on a thread of its own (with a client of its own)."""

    def call() -> dict[str, Any]:
        with httpx2.Client(base_url=base_url, timeout=90) as http:
            return post(http, body)

    return in_thread(call)


# --- sessions die with their server ----------------------------------------------------------


def test_killing_the_server_kills_its_sessions_and_the_next_start_cleans_up(tmp_path: Path):
    """`kill -9` of a real server while a cell spins and a process it started spins too: both
    die with the server; the server's temporary folder is removed by the next server."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    marker = f"agentkit-orphan-{secrets.token_hex(4)}"
    code = (
        "import subprocess\n"
        f"subprocess.Popen(['sh', '-c', 'while :; do :; done', '{marker}'])\n"
        "while True:\n    pass"
    )
    with cli_server(tmp_path, "--db", ":memory:", env={"TMPDIR": str(temp)}) as (first, url):
        [folder] = temp.glob("agentkit-files-*")
        body = {"model": "m", "tools": TOOLS, "input": fenced(code)}
        spinning, _ = in_thread(lambda: httpx2.post(f"{url}/responses", json=body, timeout=60))
        assert wait_until(lambda: bool(processes_with(marker)))
        assert processes_with(str(folder))  # the session's supervisor and kernel
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert wait_until(
            lambda: not processes_with(marker) and not processes_with(str(folder)), 10
        )
        spinning.join(10)
    assert folder.exists()  # a killed server cannot clean up after itself...
    with cli_server(tmp_path, "--db", ":memory:", env={"TMPDIR": str(temp)}):
        assert not folder.exists()  # ...the next one does
        [second] = temp.glob("agentkit-files-*")
    assert not second.exists()  # and a server stopped gracefully leaves nothing


def test_stopping_the_server_stops_its_sessions(tmp_path: Path):
    with LocalServer(files_dir=str(tmp_path / "files")) as running:
        http = httpx2.Client(base_url=running.base_url, timeout=30)
        post(http, {"model": "m", "tools": TOOLS, "input": fenced("import os; os.getpid()")})
        kernels = running.state.services["containers"]._kernels
        [session] = kernels.values()
        pid = session._process.pid
        http.close()
    assert subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0


def test_a_starting_server_kills_what_dead_servers_left_and_nothing_else(tmp_path: Path):
    """Sessions whose server died without them (its lock file is free) are found by the token
    in their command line and killed; sessions of a live server (its lock held) are not."""
    root = tmp_path / "containers"
    root.mkdir()
    live = leftovers.Claim(root)
    dead = "0123456789abcdef"
    (root / leftovers.SERVERS / f"{dead}.lock").touch()
    sessions = {}
    for owner in (dead, live.token):
        (tmp_path / owner / "data").mkdir(parents=True)
        (tmp_path / owner / "private").mkdir()
        uid = fresh_uid()
        if uid is not None:
            os.chown(tmp_path / owner / "data", uid, uid)
        folder = tmp_path / owner
        kernel = Kernel(folder / "data", folder / "private", uid=uid, limits=FAST, owner=owner)
        assert kernel.run("'up'").logs == "'up'\n"
        sessions[owner] = kernel
    try:
        leftovers.clean(root, KERNEL)
        assert wait_until(lambda: not sessions[dead].running, 10)
        assert sessions[live.token].running
        assert sorted(p.name for p in (root / leftovers.SERVERS).iterdir()) == [live.path.name]
    finally:
        for kernel in sessions.values():
            kernel.close()
        live.release()


# --- one failure stays one failure -----------------------------------------------------------


def test_a_relative_db_path_works_and_keeps_isolation(tmp_path: Path):
    """docs/server.md's own example: `--db` relative to the working directory. Every call used
    to be a 500, with a false "namespaces are not available" warning."""
    with cli_server(tmp_path, "--db", "server.db") as (_, url):
        body = {
            "model": "m",
            "tools": TOOLS,
            "input": fenced("import os; print(os.getcwd())"),
            "include": ["code_interpreter_call.outputs"],
        }
        answer = httpx2.post(f"{url}/responses", json=body, timeout=60)
        assert answer.status_code == 200, answer.text
        [call] = calls(answer.json())
        assert call["status"] == "completed"
        if isolation_level("auto").mode == "namespaces":
            assert call["outputs"] == [{"type": "logs", "logs": "/mnt/data\n"}]
    assert "not available" not in (tmp_path / "stderr").read_text()
    assert (tmp_path / "server.db.files" / "containers").is_dir()


def test_a_session_that_cannot_start_fails_its_call_and_changes_nothing_else(tmp_path: Path):
    (tmp_path / "private").mkdir()
    broken = Kernel(tmp_path / "missing", tmp_path / "private", uid=None, limits=FAST)
    result = broken.run("1 + 1")
    assert result.failed is not None
    assert result.failed.startswith("The Python session could not start: ")
    (tmp_path / "data").mkdir()
    working = Kernel(tmp_path / "data", tmp_path / "private", uid=None, limits=FAST)
    try:
        assert working.run("1 + 1").logs == "2\n"
        assert working.isolation == isolation_level("auto").mode  # not downgraded
    finally:
        working.close()


# --- running code holds up nothing else --------------------------------------------------------


def test_a_container_whose_idle_time_passes_while_its_cell_runs_stalls_nothing():
    """Its idle time (1 s) passes while a cell sleeps 8 s: requests that look at containers
    (and so expire idle ones) answer as fast as before, while the cell still runs; and a
    running cell is activity, so the container is still running afterwards."""
    with LocalServer(container_idle_seconds=1.0) as running:
        http = httpx2.Client(base_url=running.base_url, timeout=60)
        probes = [
            lambda: http.get("/containers").raise_for_status(),
            lambda: post(http, {"model": "m", "input": "Hello?"}),
        ]
        baseline = max(statistics.median(timed(p) for _ in range(3)) for p in probes)
        body = {
            "model": "m",
            "tools": TOOLS,
            "input": fenced("import time\ntime.sleep(8)\n'slept'"),
        }
        cell, answer = post_in_thread(running.base_url, body)
        assert wait_until(lambda: bool(http.get("/containers").json()["data"]))
        [container] = http.get("/containers").json()["data"]
        time.sleep(2)  # past its idle time
        probes.append(lambda: http.get(f"/containers/{container['id']}").raise_for_status())
        during = [timed(p) for p in probes]
        assert cell.is_alive()  # everything above answered while the cell ran
        assert max(during) < max(20 * baseline, 1.0), (during, baseline)
        cell.join(30)
        [call] = calls(answer["value"])
        assert call["status"] == "completed"
        assert http.get(f"/containers/{container['id']}").json()["status"] == "running"
        http.close()


def test_deleting_a_container_while_its_cell_runs_stops_the_cell_at_once():
    with LocalServer() as running:
        http = httpx2.Client(base_url=running.base_url, timeout=60)
        body = {
            "model": "m",
            "tools": TOOLS,
            "input": fenced("import time\ntime.sleep(30)"),
            "include": ["code_interpreter_call.outputs"],
        }
        cell, answer = post_in_thread(running.base_url, body)
        assert wait_until(lambda: bool(running.state.services["containers"]._busy))
        [container] = http.get("/containers").json()["data"]
        deleting = timed(lambda: http.delete(f"/containers/{container['id']}").raise_for_status())
        cell.join(10)  # a third of the cell's sleep
        assert not cell.is_alive()
        assert deleting < 5
        [call] = calls(answer["value"])
        assert call["status"] == "failed"
        assert (
            "The container was deleted or expired while the code ran; its session and files are gone."
            in (call["outputs"][0]["logs"])
        )
        http.close()


def test_sleeping_cells_do_not_starve_file_uploads():
    """More sleeping cells than the shared thread pool has threads: uploads and creates answer
    as fast as before, while every cell still sleeps (cells run on threads of their own)."""
    shared_pool = min(32, (os.cpu_count() or 1) + 4)
    count = shared_pool + 2
    limits = SandboxLimits(timeout=60, running_cells=count)
    with LocalServer(sandbox=limits) as running:
        http = httpx2.Client(base_url=running.base_url, timeout=60)
        target = http.post("/containers", json={"name": "target"}).json()["id"]

        def upload() -> None:
            files = {"file": ("notes.txt", b"hello")}
            http.post("/files", files=files, data={"purpose": "assistants"}).raise_for_status()
            http.post(f"/containers/{target}/files", files=files).raise_for_status()

        probes = [upload, lambda: post(http, {"model": "m", "input": "Hello?"})]
        baseline = max(statistics.median(timed(p) for _ in range(3)) for p in probes)
        body = {"model": "m", "tools": TOOLS, "input": fenced("import time\ntime.sleep(10)")}
        cells = [post_in_thread(running.base_url, body)[0] for _ in range(count)]
        containers = running.state.services["containers"]
        assert wait_until(lambda: len(containers._busy) == count, 30)
        during = [timed(p) for p in probes]
        assert all(cell.is_alive() for cell in cells)  # answered while every cell slept
        assert max(during) < max(20 * baseline, 2.0), (during, baseline)
        for cell in cells:
            cell.join(60)
        http.close()


@pytest.mark.parametrize("cancel_after", [0.5])
def test_a_cancelled_call_stops_its_cell(cancel_after: float):
    """The session's interrupt: a call whose request is cancelled stops its cell at once."""
    import asyncio

    from agentkit.server.hosted.code_interpreter.containers import Containers
    from agentkit.server.hosted.code_interpreter.tool import _run

    with LocalServer() as running:
        containers: Containers = running.state.services["containers"]
        container = containers.create("cancel")

        async def cancel_a_cell() -> float:
            task = asyncio.create_task(_run(containers, container.id, "while True:\n    pass"))
            await asyncio.sleep(cancel_after)
            started = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert wait_until(lambda: not containers._busy, 10)
            return time.monotonic() - started

        assert asyncio.run(cancel_a_cell()) < 5  # the cell's timeout is 60 s
        assert containers.run(container.id, "'next'").execution.logs == "'next'\n"
