"""Background responses: a task each, their persisted event logs (resume), cancel, and recovery.

A background response is written to the `background` table when it is created and whenever its
status changes; with `stream: true` each of its events is written before anyone reads it. If the
server stops while one runs (gracefully or killed), it ends `failed`: on a graceful stop at once,
otherwise when the server next opens the database, its event log then ending with an `error`
event and `response.failed`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from agentkit.server.events import error_event, response_event
from agentkit.server.live import EventLog, replay
from agentkit.server.producer import STOPPED, Producer
from agentkit.server.state.runs import BackgroundRecord, RunStore
from agentkit.server.state.store import Store

Body = dict[str, Any]
Event = dict[str, Any]


class Background:
    """The task registry: which background responses run, and what is left of those that ran."""

    def __init__(self, runs: RunStore, store: Store) -> None:
        self.runs = runs
        self.store = store
        self._running: dict[str, Producer] = {}
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    def log(self, response_id: str, stream: bool) -> EventLog | None:
        """The event log of a new background response: persisted when it streams, else none."""
        if not stream:
            return None
        return EventLog(lambda event: self.runs.append(response_id, event))

    def start(self, producer: Producer) -> None:
        """Record the response (`queued`), send its first events, and run it in a task."""
        request = producer.generation.request
        self.runs.begin(producer.snapshot(), producer.generation.context.input, request.stream)
        producer.on_change = self._changed
        producer.announce()
        self._running[producer.id] = producer
        task = asyncio.create_task(self._run(producer), name=f"agentkit-background-{producer.id}")
        self._tasks[producer.id] = task

    def running(self, response_id: str) -> Producer | None:
        return self._running.get(response_id)

    def record(self, response_id: str) -> BackgroundRecord | None:
        return self.runs.get(response_id)

    async def cancel(self, response_id: str) -> Body | None:
        """Stop a running response; its `cancelled` body, or None when it is not running."""
        producer = self._running.get(response_id)
        task = self._tasks.get(response_id)
        if producer is None or task is None:
            return None
        task.cancel()
        await asyncio.wait({task})
        return producer.snapshot()

    def follow(self, response_id: str, after: int) -> AsyncIterator[Event]:
        """The response's events after `after`: live while it runs, else from the database."""
        producer = self._running.get(response_id)
        if producer is not None and producer.log is not None:
            return producer.log.follow(after)
        return replay(self.runs.events(response_id, after))

    async def shutdown(self) -> None:
        """The server stops: every running response fails, saying so."""
        for producer in self._running.values():
            producer.stopping = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    def recover(self) -> list[str]:
        """End the responses a stopped server left running (see the module docstring)."""
        recovered: list[str] = []
        for record in self.runs.unfinished():
            error = {"code": "server_error", "message": STOPPED}
            body = {**record.body, "status": "failed", "error": error}
            if record.stream:
                self._append_end(record.id, body)
            if self.store.get(record.id) is None:
                self.store.save(body, record.input)
            self.runs.update(body, finished=True)
            recovered.append(record.id)
        return recovered

    def delete(self, response_id: str) -> None:
        self.runs.delete(response_id)

    async def _run(self, producer: Producer) -> None:
        try:
            await producer.produce()
        finally:
            self._running.pop(producer.id, None)
            self._tasks.pop(producer.id, None)

    def _changed(self, body: Body, finished: bool) -> None:
        self.runs.update(body, finished=finished)

    def _append_end(self, response_id: str, body: Body) -> None:
        number = len(self.runs.events(response_id))
        for event in (
            error_event(STOPPED, "server_error", "server_error"),
            response_event("response.failed", body),
        ):
            self.runs.append(
                response_id, {"type": event["type"], "sequence_number": number, **event}
            )
            number += 1
