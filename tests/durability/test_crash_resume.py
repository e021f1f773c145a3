"""Runs that survive a SIGKILL: resumed in a new process, no tool effect twice, no model call
created twice (counted in the scripted server's request log)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentkit.server import LocalServer
from agentkit.server.plan import Call, Say, Wait

WORKER = Path(__file__).with_name("crash_worker.py")


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer(engine="scripted") as running:
        yield running


class Worker:
    """Starts crash_worker.py processes sharing one checkpoint db and one effects file."""

    def __init__(self, server: LocalServer, folder: Path) -> None:
        self.server = server
        self.db = folder / "runs.db"
        self.effects = folder / "effects.txt"

    def start(
        self, mode: str, *, hold: bool = False, background: bool = False, sub_run: bool = False
    ) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if k != "CRASH_HOLD"}
        if hold:
            env["CRASH_HOLD"] = "1"
        args = [
            sys.executable,
            str(WORKER),
            mode,
            self.server.base_url,
            str(self.db),
            str(self.effects),
            "r1",
        ]
        if background:
            args.append("--background")
        if sub_run:
            args.append("--sub-run")
        return subprocess.Popen(
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def finish(self, mode: str, **options: bool) -> dict[str, object]:
        process = self.start(mode, **options)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        answer: dict[str, object] = json.loads(out.strip().splitlines()[-1])
        return answer

    def lines(self) -> list[str]:
        return self.effects.read_text().splitlines() if self.effects.exists() else []

    def creates(self) -> int:
        return len(self.server.requests)

    def checkpoint(self) -> dict[str, object]:
        """The run's saved state, read straight from the SQLite file."""
        if not self.db.exists():
            return {}
        with contextlib.closing(sqlite3.connect(self.db)) as db:
            try:
                row = db.execute("SELECT state FROM agentkit_runs WHERE run_id = 'r1'").fetchone()
            except sqlite3.OperationalError:  # the worker has not made its table yet
                return {}
        return dict(json.loads(row[0])) if row else {}


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=10)  # reaps it and closes its pipes


def test_a_run_killed_between_tool_calls_resumes_without_repeating_any(
    server: LocalServer, tmp_path: Path
) -> None:
    server.scripted.queue(
        [
            Call("record", '{"tag": "A"}', call_id="call_a"),
            Call("slow", '{"tag": "B"}', call_id="call_b"),
        ],
        Say("All recorded."),
    )
    worker = Worker(server, tmp_path)
    first = worker.start("run", hold=True)
    wait_for(lambda: any(line.startswith("started B") for line in worker.lines()))
    kill(first)
    assert worker.lines() == ["A r1:call_a", "started B r1:call_b"]
    assert worker.creates() == 1

    answer = worker.finish("resume")

    assert answer == {"output": "All recorded.", "turns": 2}
    # A ran once; B, in flight at the crash, ran again with the same idempotency key and
    # recognised it; so each effect is there exactly once.
    assert worker.lines() == [
        "A r1:call_a",
        "started B r1:call_b",
        "started B r1:call_b",
        "B r1:call_b",
    ]
    assert worker.creates() == 2  # the tool turn's call and the final one, each once


def test_a_run_killed_inside_an_agent_tool_resumes_its_sub_run_without_repeating(
    server: LocalServer, tmp_path: Path
) -> None:
    # The crash happens in the sub-run of an agent used as a tool: it is checkpointed in the
    # same store, under the calling tool call's idempotency key, and resumed from there.
    server.scripted.queue(
        Call("helper", '{"input": "record A and B"}', call_id="call_h"),
        [
            Call("record", '{"tag": "A"}', call_id="call_a"),
            Call("slow", '{"tag": "B"}', call_id="call_b"),
        ],
        Say("Both recorded."),
        Say("The helper recorded both."),
    )
    worker = Worker(server, tmp_path)
    first = worker.start("run", hold=True, sub_run=True)
    wait_for(lambda: any(line.startswith("started B") for line in worker.lines()))
    kill(first)
    sub = "r1:call_h/helper"
    assert worker.lines() == [f"A {sub}:call_a", f"started B {sub}:call_b"]
    assert worker.creates() == 2  # the caller's turn and the sub-run's first

    answer = worker.finish("resume", sub_run=True)

    assert answer == {"output": "The helper recorded both.", "turns": 2}
    assert worker.lines() == [
        f"A {sub}:call_a",
        f"started B {sub}:call_b",
        f"started B {sub}:call_b",
        f"B {sub}:call_b",
    ]
    # neither the caller's first call nor the sub-run's first was created again
    assert worker.creates() == 4
    [sub_input] = [r["input"] for r in server.requests if r["model"] == "gpt-4o"][2:3]
    assert [i["type"] for i in sub_input] == ["function_call_output", "function_call_output"]


def test_a_run_another_process_is_running_cannot_be_resumed(
    server: LocalServer, tmp_path: Path
) -> None:
    server.scripted.queue(Call("slow", '{"tag": "B"}', call_id="call_b"), Say("Done."))
    worker = Worker(server, tmp_path)
    running = worker.start("run", hold=True)
    wait_for(lambda: bool(worker.lines()))
    try:
        second = worker.start("resume")
        _, err = second.communicate(timeout=60)
        assert second.returncode != 0
        assert "RunClaimed" in err and "is being run by another process" in err
    finally:
        kill(running)
    assert worker.finish("resume")["output"] == "Done."
    assert worker.lines().count("B r1:call_b") == 1


def test_resuming_a_finished_run_returns_its_answer_without_calling_anything(
    server: LocalServer, tmp_path: Path
) -> None:
    server.scripted.queue(Call("record", '{"tag": "A"}', call_id="call_a"), Say("Finished."))
    worker = Worker(server, tmp_path)
    assert worker.finish("run")["output"] == "Finished."
    assert worker.finish("resume") == {"output": "Finished.", "turns": 2}
    assert worker.creates() == 2
    assert worker.lines() == ["A r1:call_a"]


def test_a_run_killed_during_a_background_model_call_reattaches_to_it(
    server: LocalServer, tmp_path: Path
) -> None:
    server.scripted.queue(
        Call("record", '{"tag": "A"}', call_id="call_a"), [Wait(2), Say("Done, after the crash.")]
    )
    worker = Worker(server, tmp_path)
    first = worker.start("run", background=True)
    # killed once the second model call's background response is checkpointed as in flight
    wait_for(
        lambda: worker.checkpoint().get("turn") == 1 and bool(worker.checkpoint().get("in_flight"))
    )
    kill(first)
    in_flight = worker.checkpoint()["in_flight"]
    assert worker.creates() == 2

    answer = worker.finish("resume", background=True)

    assert answer == {"output": "Done, after the crash.", "turns": 2}
    assert worker.creates() == 2  # reattached to the call in flight, never created again
    assert worker.lines() == ["A r1:call_a"]
    assert isinstance(in_flight, dict)
    finished = worker.checkpoint()
    assert finished["status"] == "finished" and finished["in_flight"] is None
    assert finished["response_ids"][-1] == in_flight["response_id"]
