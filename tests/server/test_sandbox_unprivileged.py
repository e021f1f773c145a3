"""The server run by an unprivileged user, for real: as `nobody` (setpriv), once with
unprivileged user namespaces and once in a user namespace that forbids creating more.

Without namespaces every call used to be a 500 and nothing was logged. Now the server says at
startup which isolation it gives, and either runs code with the documented weaker isolation
(`isolation="auto"`) or refuses it with a clear 400 (`isolation="namespaces"`).
These need root (to become `nobody`) and skip without it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from code_interpreter_support import calls, fenced

import agentkit
from agentkit.server.hosted.code_interpreter.isolation import isolation_level

HERE = Path(__file__).with_name("unprivileged.py")
PROJECT = Path(agentkit.__file__).resolve().parents[1]
NOBODY = 65534
SETPRIV = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
TOOLS = [{"type": "code_interpreter", "container": {"type": "auto"}}]


def environment() -> dict[str, str]:
    paths = [str(PROJECT), sysconfig.get_paths()["purelib"]]
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.pathsep.join(paths), "HOME": "/tmp"}


@pytest.fixture(scope="module")
def python() -> str:
    """A Python `nobody` can run (with this checkout importable) and start sessions with."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("becoming an unprivileged user needs root and setpriv")
    minor = f"python{sys.version_info.major}.{sys.version_info.minor}"
    check = "import subprocess, sys, agentkit.server; subprocess.run([sys.executable, '-c', ''], check=True)"
    for candidate in (sys.executable, f"/usr/bin/{minor}", f"/usr/local/bin/{minor}"):
        ran = subprocess.run(
            [*SETPRIV, candidate, "-c", check], env=environment(), capture_output=True, cwd="/"
        )
        if ran.returncode == 0:
            return candidate
    pytest.skip("no Python here that an unprivileged user can run with this checkout")


@pytest.fixture
def folder() -> Iterator[Path]:
    """A folder `nobody` owns (pytest's own are root's alone)."""
    made = Path(tempfile.mkdtemp(prefix="agentkit-unprivileged-"))
    os.chown(made, NOBODY, NOBODY)
    yield made
    shutil.rmtree(made, ignore_errors=True)


@contextmanager
def unprivileged_server(
    python: str, folder: Path, isolation: str, *, user_namespaces: bool
) -> Iterator[tuple[httpx2.Client, Path]]:
    """The server as `nobody`: an HTTP client for it, and its log (stderr)."""
    serve = [python, str(HERE), "serve", str(folder / "server.db"), isolation]
    if user_namespaces:
        argv = [*SETPRIV, *serve]
    else:
        argv = [sys.executable, str(HERE), "without-user-namespaces", *serve]
    log = folder / "stderr"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            argv,
            env=environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd="/",
        )
    assert process.stdout is not None and process.stdin is not None
    try:
        base_url = process.stdout.readline().decode().strip()
        assert base_url.startswith("http://127.0.0.1:"), log.read_text()
        with httpx2.Client(base_url=base_url, timeout=60) as http:
            yield http, log
    finally:
        process.stdin.close()
        process.wait(30)
        process.stdout.close()


def run_code(http: httpx2.Client, code: str) -> dict[str, object]:
    body = {
        "model": "m",
        "tools": TOOLS,
        "input": fenced(code),
        "include": ["code_interpreter_call.outputs"],
    }
    answer = http.post("/responses", json=body)
    assert answer.status_code == 200, answer.text
    [call] = calls(answer.json())
    return call


PROBE = (
    "import os, socket\n"
    "print(os.getcwd())\n"
    "try:\n"
    "    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
    "except OSError as error:\n"
    "    print(type(error).__name__, error.errno)\n"
    "written = open('made.txt', 'w').write('x')"
)


def test_with_user_namespaces_an_unprivileged_server_isolates(python: str, folder: Path):
    if isolation_level("auto").mode != "namespaces":
        pytest.skip("this machine gives no namespaces even to root")
    shm = f"agentkit-unprivileged-{secrets.token_hex(4)}"
    with unprivileged_server(python, folder, "auto", user_namespaces=True) as (http, log):
        call = run_code(http, PROBE + f"\nwritten = open('/dev/shm/{shm}', 'w').write('x')")
        assert call["status"] == "completed", call
        assert call["outputs"] == [{"type": "logs", "logs": "/mnt/data\nOSError 101\n"}]
        assert not Path(f"/dev/shm/{shm}").exists()
        [made] = folder.glob("server.db.files/containers/cntr_*/data/made.txt")
        assert made.stat().st_uid == NOBODY
        view = run_code(http, "import os\nprint(sorted(os.listdir('/dev')))\nopen('/made', 'w')")
        logs = view["outputs"][0]["logs"]  # type: ignore[index]
        assert logs.startswith(
            "['fd', 'full', 'null', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'urandom', "
            "'zero']\n"
        )
        assert "Read-only file system: '/made'" in logs
    assert (
        "INFO agentkit.server: code interpreter: sessions run in Linux namespaces through an "
        "unprivileged user namespace"
    ) in log.read_text()


def test_without_namespaces_code_runs_unisolated_and_the_log_says_so(python: str, folder: Path):
    with unprivileged_server(python, folder, "auto", user_namespaces=False) as (http, log):
        call = run_code(http, PROBE)
        assert call["status"] == "completed", call
        [made] = folder.glob("server.db.files/containers/cntr_*/data/made.txt")
        assert call["outputs"] == [
            {"type": "logs", "logs": f"{made.parent}\nPermissionError 1\n"}  # Python's own block
        ]
    text = log.read_text()
    assert (
        "WARNING agentkit.server: code interpreter: Linux namespaces are not available here ("
        in text
    )
    assert "sessions run WITHOUT isolation" in text
    assert "500" not in text and "Traceback" not in text


def test_requiring_namespaces_without_them_is_a_clear_400(python: str, folder: Path):
    with unprivileged_server(python, folder, "namespaces", user_namespaces=False) as (http, log):
        body = {"model": "m", "tools": TOOLS, "input": fenced("1 + 1")}
        refused = http.post("/responses", json=body)
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert (error["type"], error["code"], error["param"]) == (
            "invalid_request_error",
            "code_interpreter_unavailable",
            "tools[0]",
        )
        assert error["message"].startswith(
            "The code interpreter is not available on this server: it requires Linux namespaces "
            "(isolation='namespaces'), and Linux namespaces are not available here ("
        )
        assert http.post("/responses", json={"model": "m", "input": "Hi"}).status_code == 200
        assert http.post("/containers", json={"name": "files only"}).status_code == 200
    assert (
        "ERROR agentkit.server: code interpreter: isolation='namespaces', but Linux namespaces "
        "are not available here ("
    ) in log.read_text()
