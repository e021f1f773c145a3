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
from agentkit.server.plan import Call, Say
from agentkit.temporal import ConversationClient

from .agents_app import effects
from .history import activities, replay, started
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
        first.kill()
    assert first.returncode == -signal.SIGKILL
    assert not answer.done()

    with WorkerProcess(
        temporal_server, APP, queue, tmp_path / "second.log", worker_env()
    ) as second:
        outcome = await asyncio.wait_for(answer, 60)

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
