"""Reading a workflow's history in tests: its activities, its raw bytes, and a full replay."""

from __future__ import annotations

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.worker import Replayer

from agentkit.temporal import AgentkitPlugin

from .agents_app import AGENTS, Careful, Desk, Quote, Research, Traced


async def fetch(handle: WorkflowHandle) -> WorkflowHistory:  # type: ignore[type-arg]
    return await handle.fetch_history()


def activities(history: WorkflowHistory) -> list[str]:
    """The activity types scheduled, in order, without the `agentkit.` prefix."""
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name.removeprefix("agentkit.")
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]


def started(history: WorkflowHistory) -> list[HistoryEvent]:
    return [e for e in history.events if e.HasField("activity_task_started_event_attributes")]


def raw(history: WorkflowHistory) -> bytes:
    """Every event as protobuf bytes: payloads appear as the JSON they are (the history's JSON
    form base64-encodes them, so a search there finds nothing)."""
    return b"".join(event.SerializeToString() for event in history.events)


async def replay(history: WorkflowHistory) -> None:
    """Replay the history on a fresh replayer: raises if the workflow code is not deterministic."""
    replayer = Replayer(
        workflows=[Quote, Research, Desk, Careful, Traced], plugins=[AgentkitPlugin(AGENTS)]
    )
    await replayer.replay_workflow(history)
