"""Workers SIGKILLed mid-run: a second worker process finishes the run; no tool effect twice,
no model call created twice (the scripted server's request log counts creates)."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Callable
from pathlib import Path

from temporalio.api.enums.v1 import TimeoutType
from temporalio.client import Client

from agentkit.server import LocalServer
from agentkit.server.engines import Call, Pace, Say
from agentkit.temporal import ConversationClient

from .agents_app import Research, effects
from .conftest import MODEL_KEY
from .history import activities, raw, replay, started
from .worker_process import WorkerProcess

APP = "temporal.agents_app"


async def until(condition: Callable[[], bool], seconds: float = 30) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 (another process makes it true)
            await asyncio.sleep(0.02)


def worker_env() -> dict[str, str]:
    """The model's address and the effects file, as the `model` fixture set them."""
    names = ("AGENTKIT_BASE_URL", "AGENTKIT_API_KEY", "EFFECTS_FILE")
    return {name: os.environ[name] for name in names}


async def test_a_worker_killed_during_a_tool_call_leaves_the_run_to_another(
    temporal_server: str, agents_client: Client, model: LocalServer, tmp_path: Path
) -> None:
    model.scripted.queue(
        [Call("record", '{"tag": "A"}', call_id="call_a"), Call("slow", '{"tag": "B"}', call_id="call_b")],
        Say("All recorded."),
    )  # fmt: skip
    queue, chat = f"crash-{uuid.uuid4().hex[:8]}", f"chat-{uuid.uuid4().hex[:8]}"
    conversations = ConversationClient(agents_client, agent="assistant", task_queue=queue)
    holding = {**worker_env(), "CRASH_HOLD": "1"}
    with WorkerProcess(temporal_server, APP, queue, tmp_path / "first.log", holding) as first:
        answer = asyncio.create_task(conversations.send(chat, "record A and B"))
        await until(lambda: any(line.startswith("started B") for line in effects()))
        with WorkerProcess(
            temporal_server, APP, queue, tmp_path / "second.log", worker_env()
        ) as second:
            first.kill()
            assert not answer.done()
            outcome = await asyncio.wait_for(answer, 60)
    assert first.returncode == -signal.SIGKILL

    assert outcome.output == "All recorded."
    a, started_first, started_again, b = effects()
    key_a, key_b = a.split()[1], started_first.split()[2]
    assert (a, b) == (f"A {key_a}", f"B {key_b}")  # each effect exactly once
    assert key_a.endswith(":call_a") and key_b.endswith(":call_b")
    # B was running at the kill: it ran again, in the second worker, with the same key
    assert started_first.split()[1:] == ["B", key_b, str(first.pid)]
    assert started_again.split()[1:] == ["B", key_b, str(second.pid)]
    assert len(model.requests) == 2  # the tool turn's model call and the final one, each once

    history = await agents_client.get_workflow_handle(chat).fetch_history()
    assert activities(history) == [
        "assistant.model", "assistant.tool", "assistant.tool", "assistant.model"
    ]  # fmt: skip
    attempts = [e.activity_task_started_event_attributes for e in started(history)]
    assert [s.attempt for s in attempts] == [1, 1, 2, 1]
    assert (
        attempts[2].last_failure.timeout_failure_info.timeout_type
        == TimeoutType.TIMEOUT_TYPE_HEARTBEAT
    )
    await replay(history)


async def heartbeat_recorded(client: Client, workflow_id: str) -> bytes:
    """The heartbeat details Temporal holds for the workflow's running activity (b"" if none)."""
    description = await client.get_workflow_handle(workflow_id).describe()
    pending = description.raw_description.pending_activities
    return b"".join(p.heartbeat_details.SerializeToString() for p in pending)


async def test_a_worker_killed_during_a_background_model_call_is_reattached_not_resent(
    temporal_server: str, agents_client: Client, model: LocalServer, tmp_path: Path
) -> None:
    words = " ".join(f"w{n}" for n in range(60))
    model.scripted.queue([Pace(60), Say(words)])  # about 4 s of streaming
    queue, run_id = f"crash-{uuid.uuid4().hex[:8]}", f"research-{uuid.uuid4().hex[:8]}"
    with WorkerProcess(temporal_server, APP, queue, tmp_path / "first.log", worker_env()) as first:
        handle = await agents_client.start_workflow(
            Research.run, "a long answer", id=run_id, task_queue=queue
        )
        async with asyncio.timeout(30):
            while b"resp_" not in await heartbeat_recorded(agents_client, run_id):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # a few events into the stream
        first.kill()
    # The response goes on without its worker; the next one reattaches to it, wherever it got.
    with WorkerProcess(temporal_server, APP, queue, tmp_path / "second.log", worker_env()):
        assert await asyncio.wait_for(handle.result(), 60) == words

    [created] = model.requests  # created once; the second worker reattached to it
    assert created["background"] is True and created["stream"] is True
    history = await handle.fetch_history()
    attempts = [e.activity_task_started_event_attributes for e in started(history)]
    assert activities(history) == ["researcher.model"]
    assert [s.attempt for s in attempts] == [2]
    assert (
        attempts[0].last_failure.timeout_failure_info.timeout_type
        == TimeoutType.TIMEOUT_TYPE_HEARTBEAT
    )
    assert MODEL_KEY.encode() not in raw(history)
    await replay(history)
