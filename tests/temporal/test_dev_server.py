"""The Temporal harness itself: a real dev server, real workers, and a worker SIGKILLed mid-activity."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import TimeoutType
from temporalio.client import Client

from .smoke_app import CountTicks, Greet, Ticks, make_worker
from .worker_process import WorkerProcess

APP = "temporal.smoke_app"
TICKS = 30


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_a_workflow_runs_its_activity_on_a_worker(temporal_client: Client) -> None:
    queue = unique("greet")
    async with make_worker(temporal_client, queue):
        said = await temporal_client.execute_workflow(
            Greet.run, "Ada", id=unique("greet"), task_queue=queue
        )
    assert said == f"Hello, Ada, from {os.getpid()}"


def journal_lines(journal: Path, kind: str) -> list[list[str]]:
    """The journal's lines of one kind (attempt, tick, effect), split into words."""
    if not journal.exists():
        return []
    lines = [line.split() for line in journal.read_text().splitlines()]
    return [words[1:] for words in lines if words[0] == kind]


async def test_an_activity_cut_off_by_sigkill_resumes_on_another_worker_process(
    temporal_server: str, temporal_client: Client, tmp_path: Path
) -> None:
    queue, journal = unique("ticks"), tmp_path / "journal"
    with WorkerProcess(temporal_server, APP, queue, tmp_path / "first.log") as first:
        handle = await temporal_client.start_workflow(
            CountTicks.run, Ticks(str(journal), TICKS), id=unique("ticks"), task_queue=queue
        )
        async with asyncio.timeout(30):
            while len(journal_lines(journal, "tick")) < 3:  # noqa: ASYNC110 (another process)
                await asyncio.sleep(0.02)
        first.kill()
    assert first.returncode == -signal.SIGKILL
    ticked_before_kill = len(journal_lines(journal, "tick"))

    with WorkerProcess(temporal_server, APP, queue, tmp_path / "second.log") as second:
        async with asyncio.timeout(60):
            finished_by = await handle.result()
    assert finished_by == second.pid

    (one, one_pid, from_zero), (two, two_pid, resumed) = journal_lines(journal, "attempt")
    assert (one, one_pid, from_zero) == ("1", str(first.pid), "0")
    assert (two, two_pid) == ("2", str(second.pid))
    assert 1 <= int(resumed) <= ticked_before_kill  # the last heartbeat reached the retry
    ticks_after = [int(count) for count, pid in journal_lines(journal, "tick") if pid == two_pid]
    assert ticks_after == list(range(int(resumed), TICKS))
    assert journal_lines(journal, "effect") == [[str(second.pid)]]

    events = (await handle.fetch_history()).events
    started = [
        e.activity_task_started_event_attributes
        for e in events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert [s.attempt for s in started] == [2]
    assert (
        started[0].last_failure.timeout_failure_info.timeout_type
        == TimeoutType.TIMEOUT_TYPE_HEARTBEAT
    )
