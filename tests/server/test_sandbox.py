"""The code interpreter sandbox: a session that misbehaves is stopped or contained, and the
server keeps serving.

Most checks drive a `Kernel` directly (a container folder in `tmp_path`, a fresh user id); the
isolation checks need Linux namespaces (root, or unprivileged user namespaces) and skip with
the reason when this machine refuses them. Measured guarantees are listed in docs/server.md.
"""

from __future__ import annotations

import io
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx2
import pytest
from code_interpreter_support import calls, fenced, post

from agentkit.server import LocalServer
from agentkit.server.hosted.code_interpreter.containers import Containers
from agentkit.server.hosted.code_interpreter.isolation import Isolation
from agentkit.server.hosted.code_interpreter.sandbox import Kernel, SandboxLimits
from agentkit.server.state.files import FileStore
from agentkit.server.state.folders import scan

FAST = SandboxLimits(timeout=2.0, processes=24, memory_bytes=512 * 1024**2, file_bytes=2_000_000)


def fresh_uid() -> int | None:
    return 2_950_000 + secrets.randbelow(40_000) if os.geteuid() == 0 else None


def processes_of(uid: int) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found.append(entry)
            except OSError:
                pass
    return found


def processes_with(marker: str) -> list[int]:
    """Processes of this machine whose command line holds `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


def make_kernel(tmp_path: Path, limits: SandboxLimits = FAST) -> tuple[Kernel, Path, int | None]:
    data, private = tmp_path / "data", tmp_path / "private"
    data.mkdir()
    private.mkdir()
    uid = fresh_uid()
    if uid is not None:
        os.chown(data, uid, uid)
    return Kernel(data, private, uid=uid, limits=limits), data, uid


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Kernel]:
    session, _, _ = make_kernel(tmp_path)
    yield session
    session.close()


def isolated(kernel: Kernel) -> Kernel:
    """The kernel, started; skips when this machine gave it no namespaces."""
    kernel.run("pass")
    if kernel.isolation != "namespaces":
        pytest.skip("Linux namespaces are not available here (not root, no user namespaces)")
    return kernel


# --- a session ----------------------------------------------------------------------------------


def test_a_session_keeps_its_variables_and_shows_the_last_value(kernel: Kernel):
    assert kernel.run("x = 21").logs == ""
    assert kernel.run("print('twice:')\nx * 2").logs == "twice:\n42\n"
    failed = kernel.run("1 / 0")
    assert failed.failed is None  # the cell failed, the session did not
    assert failed.logs.startswith('Traceback (most recent call last):\n  File "<cell>", line 1')
    assert failed.logs.endswith("ZeroDivisionError: division by zero\n")
    assert kernel.run("x").logs == "21\n"


def test_a_cell_may_read_stdin_and_exit_without_ending_the_session(kernel: Kernel):
    assert "EOFError" in kernel.run("input()").logs
    assert "SystemExit: 3" in kernel.run("import sys; sys.exit(3)").logs
    assert kernel.run("'alive'").logs == "'alive'\n"


def test_code_runs_in_the_container_folder(kernel: Kernel, tmp_path: Path):
    kernel.run("open('made.txt', 'w').write('hi')")
    assert (tmp_path / "data" / "made.txt").read_text() == "hi"
    if kernel.isolation == "namespaces":
        assert kernel.run("import os; os.getcwd()").logs == "'/mnt/data'\n"
        assert kernel.run("open('/mnt/data/made.txt').read()").logs == "'hi'\n"


def test_an_image_value_is_an_image_output(kernel: Kernel):
    shown = kernel.run("from PIL import Image\nImage.new('RGB', (4, 3), 'red')")
    [png] = shown.images
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert shown.logs == ""


def test_the_environment_is_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-secret")
    session, _, _ = make_kernel(tmp_path)
    try:
        environment = session.run("import os; sorted(os.environ)").logs
        assert "secret" not in session.run("str(os.environ)").logs
    finally:
        session.close()
    assert "KEY" not in environment
    assert environment == "['HOME', 'LANG', 'LC_ALL', 'MPLBACKEND', 'PATH']\n" or (
        session.isolation == "none" and "TMPDIR" in environment
    )


# --- limits -------------------------------------------------------------------------------------


def test_a_loop_forever_is_stopped_at_the_timeout(kernel: Kernel):
    kernel.run("kept = 1")
    started = time.monotonic()
    result = kernel.run("while True:\n    pass")
    assert time.monotonic() - started < FAST.timeout + 3
    assert result.failed is not None and "timed out after 2 seconds" in result.failed
    assert result.logs.endswith(result.failed)
    # The next cell gets a new session: files stay, variables are gone.
    assert "NameError: name 'kept' is not defined" in kernel.run("kept").logs


def test_output_printed_before_a_timeout_is_kept(kernel: Kernel):
    result = kernel.run("print('before', flush=True)\nimport time\ntime.sleep(60)")
    assert result.logs.startswith("before\n")
    assert result.failed is not None


def test_unbounded_allocation_fails_inside_the_session(kernel: Kernel):
    # `bytes(n)` takes fresh zeroed pages from calloc without writing them: the loop reaches
    # RLIMIT_AS in milliseconds. `bytearray(n)` writes every byte, and writing 512 MiB could
    # take longer than the cell's 2 s timeout on a loaded machine, which then ended the cell.
    result = kernel.run("hoard = []\nwhile True:\n    hoard.append(bytes(10**7))")
    assert result.failed is None
    assert result.logs.endswith("MemoryError\n")
    assert kernel.run("del hoard\n'fine'").logs == "'fine'\n"


def test_one_huge_allocation_fails(kernel: Kernel):
    assert kernel.run("bytearray(8 * 1024**3)").logs.endswith("MemoryError\n")


def test_a_fork_bomb_is_bounded_then_killed_with_its_session(tmp_path: Path):
    session, _, uid = make_kernel(tmp_path)
    try:
        counted = session.run(
            "import os, time\n"
            "forks = 0\n"
            "while True:\n"
            "    try:\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(60)\n"
            "            os._exit(0)\n"
            "        forks += 1\n"
            "    except OSError:\n"
            "        break\n"
            "forks"
        )
        forks = int(counted.logs)
        assert 0 < forks < FAST.processes  # RLIMIT_NPROC: the sleepers and the session itself
        bomb = session.run("import os\nwhile True:\n    try: os.fork()\n    except OSError: pass")
        assert bomb.failed is not None
        assert session.run("'after'").logs == "'after'\n"
    finally:
        session.close()
    if uid is not None:
        deadline = time.monotonic() + 5
        while processes_of(uid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_of(uid) == []  # nothing of the session survives it


def test_files_are_capped_in_size(kernel: Kernel):
    result = kernel.run("open('big.bin', 'wb').write(b'x' * 3_000_000)")
    assert "File too large" in result.logs


def test_a_cpu_limit_ends_the_session(tmp_path: Path):
    session, _, _ = make_kernel(tmp_path, SandboxLimits(timeout=20, cpu_seconds=1))
    try:
        result = session.run("while True:\n    pass")
        assert result.failed is not None
        assert "SIGXCPU" in result.failed or "SIGKILL" in result.failed
        assert session.run("1 + 1").logs == "2\n"
    finally:
        session.close()


@pytest.mark.parametrize("isolation", ["auto", "none"])
def test_processes_a_cell_starts_end_with_the_cell(tmp_path: Path, isolation: Isolation):
    """The attack: a cell leaves processes spinning (one plain, one daemonized with a double
    fork and `setsid`) and returns. Both are gone when the call returns, in either mode."""
    session, _, _ = make_kernel(tmp_path, replace(FAST, isolation=isolation))
    marker = f"agentkit-spin-{secrets.token_hex(4)}"
    spin = f"['sh', '-c', 'while :; do :; done', '{marker}']"
    code = (
        "import os, subprocess\n"
        f"subprocess.Popen({spin})\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        f"    if os.fork() == 0:\n        os.execvp('sh', {spin})\n"
        "    os._exit(0)\n"
        "os.wait()\n"
        "import time\n"
        f"while len([p for p in os.listdir('/proc') if p.isdigit()]) < 3: time.sleep(0.01)\n"
        "'started'"
    )
    try:
        started = session.run(code)
        assert started.logs == "'started'\n", started.logs
        assert processes_with(marker) == []
        assert session.run("'still serving'").logs == "'still serving'\n"
    finally:
        session.close()


# --- isolation (namespaces) -----------------------------------------------------------------------


def test_no_network_not_even_the_servers_loopback(kernel: Kernel, server: LocalServer):
    isolated(kernel)
    code = (
        "import socket\n"
        f"try:\n    socket.create_connection(('127.0.0.1', {server.port}), timeout=2)\n"
        "except OSError as error:\n    print(type(error).__name__)\nelse:\n    print('connected')"
    )
    assert kernel.run(code).logs in ("ConnectionRefusedError\n", "OSError\n")
    outside = kernel.run(
        "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "except OSError as error:\n    print(error.errno)"
    )
    assert outside.logs == "101\n"  # ENETUNREACH: there is no interface but a downed lo


def test_writes_outside_the_folder_fail_or_stay_private(kernel: Kernel, tmp_path: Path):
    isolated(kernel)
    probe = f"agentkit-probe-{secrets.token_hex(4)}"
    assert "Read-only file system" in kernel.run(f"open('/etc/{probe}', 'w')").logs
    assert "Read-only file system" in kernel.run(f"open('/usr/{probe}', 'w')").logs
    kernel.run(f"try:\n    open('/{probe}', 'w')\nexcept OSError:\n    pass")
    assert not Path(f"/{probe}").exists()
    assert kernel.run(f"open('/tmp/{probe}', 'w').write('x')").logs == "1\n"
    assert not Path(f"/tmp/{probe}").exists()  # its /tmp is a private tmpfs


def test_dev_and_shared_memory_are_the_sessions_own(tmp_path: Path):
    """The attack: /dev/shm was the host's, so code wrote files on the host (outliving the
    container), read other containers' files there, and used host memory no limit counted.
    Now /dev has a few harmless devices and /dev/shm is the session's capped scratch tmpfs."""
    session, _, _ = make_kernel(tmp_path, replace(FAST, scratch_size="8m", file_bytes=2**26))
    host_file = Path(f"/dev/shm/agentkit-host-{secrets.token_hex(4)}")
    host_file.write_text("another container's")
    probe = f"agentkit-probe-{secrets.token_hex(4)}"
    try:
        isolated(session)
        devices = session.run("import os; sorted(os.listdir('/dev'))").logs
        assert devices == (
            "['fd', 'full', 'null', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'urandom', "
            "'zero']\n"
        )
        assert session.run(f"os.path.exists({str(host_file)!r})").logs == "False\n"
        assert session.run(f"open('/dev/shm/{probe}', 'w').write('x')").logs == "1\n"
        filled = session.run(
            "written = 0\n"
            "try:\n"
            "    with open('/dev/shm/fill', 'wb') as f:\n"
            "        while True:\n"
            "            f.write(b'x' * 2**20)\n"
            "            f.flush()\n"
            "            written += 1\n"
            "except OSError as error:\n"
            "    print(error.errno, written)"
        )
        errno, mib = filled.logs.split()
        assert errno == "28" and int(mib) < 8  # ENOSPC at the scratch size, not host RAM
        # /tmp is the same tmpfs: the cap is the session's, not one per folder.
        assert "No space left" in session.run("open('/tmp/more', 'wb').write(b'x' * 2**20)").logs
        assert "Read-only file system" in session.run("open('/dev/made', 'w')").logs
        assert "FileNotFoundError" in session.run("os.openpty()").logs  # no terminals
        assert session.run("open('/dev/null', 'w').write('gone')").logs == "4\n"
    finally:
        session.close()
        host_file.unlink()
    assert not Path(f"/dev/shm/{probe}").exists()
    assert not Path("/dev/shm/fill").exists()


def test_only_the_system_and_python_are_in_sight(kernel: Kernel, tmp_path: Path):
    isolated(kernel)
    import agentkit

    project = Path(agentkit.__file__).resolve().parents[1]
    seen = kernel.run(
        f"import os\n[os.path.exists(p) for p in ({str(project / 'agentkit')!r}, "
        f"{str(tmp_path / 'private')!r}, '/home', '/run/docker.sock', '/var/lib')]"
    )
    assert seen.logs == "[False, False, False, False, False]\n"
    assert kernel.run("sorted(os.listdir('/mnt'))").logs == "['data']\n"
    assert kernel.run("import PIL; 'Pillow imports'").logs == "'Pillow imports'\n"


def test_the_session_sees_only_its_own_processes(kernel: Kernel):
    isolated(kernel)
    assert kernel.run(
        "import os; sorted(int(p) for p in os.listdir('/proc') if p.isdigit())"
    ).logs == ("[1]\n")


def test_the_session_has_a_user_of_its_own(tmp_path: Path):
    session, _, uid = make_kernel(tmp_path)
    try:
        isolated(session)
        if uid is None:
            pytest.skip("only a server running as root gives sessions their own user id")
        assert session.run("import os; os.getuid(), os.getgid()").logs == f"({uid}, {uid})\n"
        assert "PermissionError" in session.run("os.setuid(0)").logs
    finally:
        session.close()


def test_without_namespaces_python_sockets_are_refused(tmp_path: Path):
    session, _, _ = make_kernel(tmp_path, SandboxLimits(timeout=5, isolation="none"))
    try:
        result = session.run(
            "import socket\ntry:\n    socket.socket()\nexcept OSError as error:\n    print(error)"
        )
        assert session.isolation == "none"
        assert "Network access is disabled in this sandbox." in result.logs
        assert session.run("import os; os.getcwd()").logs == f"{str(tmp_path / 'data')!r}\n"
    finally:
        session.close()


# --- the folder the server reads ------------------------------------------------------------------


def test_links_planted_in_the_folder_are_never_followed(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    files = FileStore(tmp_path / "store")
    containers = Containers(files, limits=FAST)
    try:
        container = containers.create("links")
        code = (
            f"import os\nos.symlink({str(secret)!r}, 'leak.txt')\n"
            "os.symlink('/etc', 'etc')\nos.mkfifo('pipe')\nopen('real.txt', 'w').write('ok')"
        )
        result = containers.run(container.id, code)
        assert [f.filename for f in result.files] == ["real.txt"]
        # An upload under the link's name replaces the link; it never writes through it.
        containers.add_file(container.id, "leak.txt", io.BytesIO(b"uploaded"))
        assert secret.read_text() == "host secret"
        data = containers.root / container.id / "data"
        assert sorted(scan(data)) == ["leak.txt", "real.txt"]
        assert (data / "leak.txt").read_bytes() == b"uploaded"
    finally:
        containers.close()
        files.close()


# --- the server keeps serving -----------------------------------------------------------------


def test_the_server_keeps_serving_while_code_misbehaves():
    with LocalServer(sandbox=SandboxLimits(timeout=3)) as running:
        http = httpx2.Client(base_url=running.base_url, timeout=30)
        tools = [{"type": "code_interpreter", "container": {"type": "auto"}}]
        stuck: dict[str, object] = {}

        def loop_forever() -> None:
            body = {"model": "m", "tools": tools, "input": fenced("while True:\n    pass")}
            stuck.update(post(http, body))

        worker = threading.Thread(target=loop_forever)
        worker.start()
        time.sleep(0.5)
        started = time.monotonic()
        quick = post(http, {"model": "m", "input": "Hello?"})
        assert time.monotonic() - started < 1.0
        assert quick["status"] == "completed"
        worker.join(20)
        [call] = calls(stuck)  # type: ignore[arg-type]
        assert call["status"] == "failed"
        after = post(http, {"model": "m", "tools": tools, "input": fenced("6 * 7")})
        assert calls(after)[0]["status"] == "completed"
        http.close()
