"""One server per database: a second `agentkit serve` on the same file is refused with the
first one's pid (two servers used to serve each other's deleted responses and share container
folders); the lock goes with the first server, however it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from serve_process import ROOT, Serve, Serving, free_port, server_env

from agentkit.server import DatabaseInUse, LocalServer


def second_serve(db: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "agentkit.cli", "serve", "--db", str(db)]
    return subprocess.run(
        [*command, "--port", str(free_port())],
        cwd=ROOT,
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def refusal(db: Path, pid: int) -> str:
    return (
        f"agentkit serve: {db} is in use by another agentkit server (pid {pid}). Two servers on "
        "one database would serve each other's deleted responses and share container folders: "
        "stop that server, or give this one another --db.\n"
    )


def create(running: Serving) -> dict[str, Any]:
    answer = httpx2.post(f"{running.url}/v1/responses", json={"model": "m", "input": "x"})
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def test_a_second_server_on_the_same_database_is_refused(tmp_path: Path, serve: Serve) -> None:
    db = tmp_path / "shared.db"
    first = serve("--db", str(db))
    created = create(first)

    second = second_serve(db)
    assert (second.returncode, second.stdout) == (2, "")
    assert second.stderr.endswith(refusal(db, first.process.pid))

    deleted = httpx2.delete(f"{first.url}/v1/responses/{created['id']}")
    assert deleted.status_code == 200  # the first server is unaffected
    assert first.stop(signal.SIGINT)[0] == 0

    after = serve("--db", str(db))  # once it has stopped, the database is free
    assert httpx2.get(f"{after.url}/v1/responses/{created['id']}").status_code == 404


def test_the_lock_goes_with_a_killed_server(tmp_path: Path, serve: Serve) -> None:
    db = tmp_path / "killed.db"
    first = serve("--db", str(db))
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait(15)
    create(serve("--db", str(db)))


def test_in_process_servers_share_nothing_but_memory_databases(tmp_path: Path) -> None:
    db = str(tmp_path / "local.db")
    with LocalServer(db=db):
        with pytest.raises(DatabaseInUse, match=f"pid {os.getpid()}"):
            LocalServer(db=db)
        folder = str(tmp_path / "files")
        with LocalServer(files_dir=folder), pytest.raises(DatabaseInUse):
            LocalServer(db=str(tmp_path / "other.db"), files_dir=folder)
        with LocalServer(), LocalServer():  # ":memory:" databases are each their own
            pass
    with LocalServer(db=db) as again:  # released when the first one stopped
        assert again.state.store.get("resp_x") is None
