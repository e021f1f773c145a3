"""A container's folder is bounded, in disk used and in file sizes, and so is what the server
copies out of it: sparse files, runaway writers and floods of entries are contained.

The attack these reproduce: four 250 MiB sparse files cost the code nothing, but the server
wrote 1,000 MiB of snapshot copies to the host; a call could make the server write ~250 GiB.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from code_interpreter_support import calls, fenced, post

from agentkit.server import LocalServer
from agentkit.server.errors import APIError
from agentkit.server.hosted.code_interpreter.containers import Containers
from agentkit.server.hosted.code_interpreter.sandbox import SandboxLimits
from agentkit.server.state.files import FileStore
from agentkit.server.state.folders import measure

MiB = 1024**2
SMALL = SandboxLimits(
    timeout=120, folder_bytes=16 * MiB, folder_apparent_bytes=64 * MiB, file_bytes=300 * MiB
)


def disk_used(folder: Path) -> int:
    """Bytes of disk the files under `folder` hold (allocated blocks)."""
    return sum(p.stat().st_blocks * 512 for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def containers(tmp_path: Path) -> Iterator[Containers]:
    files = FileStore(tmp_path / "store")
    made = Containers(files, limits=SMALL)
    yield made
    made.close()
    files.close()


def sparse_files(count: int, mib: int) -> str:
    return (
        f"for n in range({count}):\n"
        f"    with open(f'sparse{{n}}.bin', 'wb') as f:\n"
        f"        f.truncate({mib} * 2**20)\n"
        "'made'"
    )


def test_sparse_files_cost_the_server_no_disk(tmp_path: Path):
    """At the default limits: four 250 MiB sparse files are listed at their size, but their
    snapshots are sparse too (the server used to write 1,000 MiB of copies)."""
    files = FileStore(tmp_path / "store")
    containers = Containers(files, limits=SandboxLimits(timeout=30))
    try:
        container = containers.create("sparse")
        result = containers.run(container.id, sparse_files(4, 250))
        assert result.execution.failed is None, result.execution.logs
        assert sorted((f.filename, f.bytes) for f in result.files) == [
            (f"sparse{n}.bin", 250 * MiB) for n in range(4)
        ]
        written = disk_used(containers.root / container.id / "blobs")
        assert written < MiB  # the copies' disk use, not their 1,000 MiB of size
        blob = containers.content_path(result.files[0])
        assert blob.stat().st_size == 250 * MiB
        with open(blob, "rb") as f:
            f.seek(123 * MiB)
            assert f.read(16) == bytes(16)
    finally:
        containers.close()
        files.close()


def test_sparse_files_past_the_apparent_limit_are_rolled_back(containers: Containers):
    """Files whose sizes add up past `folder_apparent_bytes` (64 MiB here) fail the call, and
    nothing of them is copied out or kept; files of earlier calls stay as they were."""
    container = containers.create("sparse")
    kept = containers.run(container.id, "open('kept.txt', 'w').write('earlier')")
    [kept_file] = kept.files
    result = containers.run(container.id, sparse_files(4, 30))
    failed = result.execution.failed
    assert failed is not None
    assert failed.startswith(
        "The container's folder went over its size limit: its files add up to 120.0 MiB (the "
        "limit is 64.0 MiB; a sparse file counts at its full size); the Python session was "
        "stopped (its variables are lost), and the folder was put back as it was before this call"
    )
    assert result.files == []
    data = containers.root / container.id / "data"
    assert sorted(measure(data).files) == ["kept.txt"]
    assert (data / "kept.txt").read_text() == "earlier"
    assert [f.id for f in containers.files(container.id)] == [kept_file.id]
    assert sorted(p.name for p in (containers.root / container.id / "blobs").iterdir()) == [
        kept_file.id
    ]
    assert containers.run(container.id, "open('kept.txt').read()").execution.logs == "'earlier'\n"


def test_a_runaway_writer_is_stopped_while_it_writes(containers: Containers):
    """A cell that writes real data without end is stopped by the watch on its folder (16 MiB
    of disk here), long before its 120 s timeout, and what it wrote is removed."""
    container = containers.create("writer")
    containers.run(
        container.id,
        "import os; os.makedirs('sub/deeper'); open('sub/deeper/a.csv', 'w').write('1,2')",
    )
    code = (
        "import os\n"
        "n = 0\n"
        "while True:\n"
        "    with open(f'chunk{n}.bin', 'wb') as f:\n"
        "        f.write(os.urandom(2**20))\n"
        "    n += 1"
    )
    result = containers.run(container.id, code)
    failed = result.execution.failed
    assert failed is not None and "timed out" not in failed
    assert failed.startswith("The container's folder went over its size limit: it used ")
    assert "of disk (the limit is 16.0 MiB)" in failed
    data = containers.root / container.id / "data"
    assert sorted(measure(data).files) == ["sub/deeper/a.csv"]  # put back, nested folders too
    assert (data / "sub" / "deeper" / "a.csv").read_text() == "1,2"
    assert disk_used(data) < MiB


def test_a_flood_of_entries_is_over_the_limits(containers: Containers):
    container = containers.create("flood")
    code = "import os\nfor n in range(21_000):\n    os.close(os.open(f'e{n}', os.O_CREAT | os.O_WRONLY))"
    result = containers.run(container.id, code)
    assert result.execution.failed is not None
    assert result.execution.failed.startswith(
        "The container's folder went over its limits (more than 20,000 entries, or folders more "
        "than 16 deep)"
    )
    assert measure(containers.root / container.id / "data").entries == 0


def test_an_upload_past_the_limit_is_refused(containers: Containers):
    container = containers.create("full")
    containers.add_file(container.id, "first.bin", io.BytesIO(os.urandom(10 * MiB)))
    with pytest.raises(APIError) as refused:
        containers.add_file(container.id, "second.bin", io.BytesIO(os.urandom(10 * MiB)))
    assert (refused.value.status, refused.value.code) == (400, "container_full")
    assert refused.value.message.startswith(
        f"Cannot add this file to container '{container.id}': the container's folder went over "
        "its size limit"
    )
    assert [f.filename for f in containers.files(container.id)] == ["first.bin"]
    assert sorted(measure(containers.root / container.id / "data").files) == ["first.bin"]


def test_over_http_the_call_fails_and_nothing_is_cited():
    """End to end: the failed call, its message in the outputs, and no file listed or linked."""
    limits = SandboxLimits(timeout=30, folder_apparent_bytes=64 * MiB)
    with (
        LocalServer(sandbox=limits) as running,
        httpx2.Client(base_url=running.base_url, timeout=60) as http,
    ):
        tools = [{"type": "code_interpreter", "container": {"type": "auto"}}]
        body = {
            "model": "m",
            "tools": tools,
            "input": fenced(sparse_files(3, 30)),
            "include": ["code_interpreter_call.outputs"],
        }
        answer = post(http, body)
        [call] = calls(answer)
        assert call["status"] == "failed"
        [logs] = call["outputs"]
        assert "its files add up to 90.0 MiB (the limit is 64.0 MiB" in logs["logs"]
        listed = http.get(f"/containers/{call['container_id']}/files").json()
        assert listed["data"] == []
        message = answer["output"][-1]
        assert "sandbox:/mnt/data" not in message["content"][0]["text"]
        assert message["content"][0]["annotations"] == []
