"""Makes one response from start to end, whatever reads it: a JSON answer, a stream, a background
task. It sends the lifecycle events, runs the generation, and ends the response exactly once
(completed, incomplete, failed or cancelled), saving it before its terminal event goes out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agentkit.server.emitter import Emitter
from agentkit.server.errors import APIError
from agentkit.server.events import TERMINAL_EVENTS, error_event, response_error, response_event
from agentkit.server.generate import Aborted, Generation
from agentkit.server.live import EventLog
from agentkit.server.plan import Control, Hold
from agentkit.server.protocol import azure
from agentkit.server.state.conversations import ConversationStore
from agentkit.server.state.store import Store

log = logging.getLogger("agentkit.server")

STOPPED = (
    "The server stopped before this response finished. Create it again (the hosted tools it ran "
    "before the stop may have run already)."
)
UNEXPECTED = "The server had an error while processing your request."
KEPT_IN_CONVERSATION = ("completed", "incomplete")
"""A response in a conversation adds its input and output to it when it ends so."""
Body = dict[str, Any]


@dataclass
class Producer:
    """One response being made; `log` is None when nobody will read its events."""

    generation: Generation
    store: Store
    log: EventLog | None
    azure: bool = False
    pace_ms: float = 0.0
    status: str = "in_progress"
    final: Body | None = None
    on_change: Callable[[Body, bool], None] | None = None
    """Told each new snapshot, and whether it is the last (the background store)."""
    stopping: bool = False
    """Set when the server shuts down: a cancel then fails the response instead."""
    offload: Callable[..., Awaitable[Any]] | None = None
    """Runs blocking work (saving the response) off the event loop; None: inline."""
    conversations: ConversationStore | None = None
    """Where a response made in a conversation adds its input and output when it ends."""

    def __post_init__(self) -> None:
        if self.background:
            self.status = "queued"

    @property
    def id(self) -> str:
        return self.generation.draft.id

    @property
    def background(self) -> bool:
        return self.generation.request.background

    def controls(self) -> list[Control]:
        return self.generation.controls()

    def snapshot(self) -> Body:
        """The response as a retrieve shows it now."""
        if self.final is not None:
            return self.final
        body = self.generation.draft.body(self.status, self.generation.output)
        return azure.with_content_filters(body, None) if self.azure else body

    def announce(self) -> None:
        """`response.created` (and, queued in the background, `response.queued`)."""
        self._send(response_event("response.created", self.snapshot()))
        if self.background:
            self._send(response_event("response.queued", self.snapshot()))

    async def produce(self, *, raise_errors: bool = False) -> Body:
        """Make the response and end it; with `raise_errors` (a plain JSON answer) a failure is
        raised as the HTTP error it is, nothing sent or saved."""
        try:
            await self._start()
            sink = self.log.append if self.log is not None else None
            emitter = Emitter(
                sink, obfuscate=self.generation.request.stream_obfuscation, pace_ms=self.pace_ms
            )
            final = await self.generation.run(emitter)
        except Aborted as aborted:
            step = aborted.step
            if raise_errors:
                raise APIError(500, step.message, type=step.type, code=step.code) from None
            return await self._fail(step.message, step.code, step.type)
        except APIError as error:
            if raise_errors:
                raise
            return await self._fail(
                error.message, error.code, error.type, error.status, error.param
            )
        except asyncio.CancelledError:
            if self.stopping:
                await asyncio.shield(self._fail(STOPPED, "server_error", "server_error"))
            else:
                ended = self.generation.draft.ended("cancelled", self._output(), None)
                await asyncio.shield(self._end(ended))
            raise
        except Exception:
            log.exception("response %s failed", self.id)
            if raise_errors:
                raise
            return await self._fail(UNEXPECTED, "server_error", "server_error")
        return await self._finish(final)

    async def _start(self) -> None:
        if self.background:
            held = sum(c.seconds for c in self.controls() if isinstance(c, Hold))
            if held > 0:
                await asyncio.sleep(held)
            self.status = "in_progress"
            self._changed()
        self._send(response_event("response.in_progress", self.snapshot()))

    async def _finish(self, final: Body) -> Body:
        if self.azure:
            context = self.generation.context
            filters = azure.content_filters(final, context.items, len(context.input))
            final = azure.with_content_filters(final, filters)
        return await self._end(final, TERMINAL_EVENTS[final["status"]])

    async def _fail(
        self,
        message: str,
        code: str | None,
        type: str,
        status: int = 500,
        param: str | None = None,
    ) -> Body:
        self._send(error_event(message, code, type, param))
        error = {"code": response_error(code, status), "message": message}
        body = self.generation.draft.ended("failed", self._output(), error)
        return await self._end(body, "response.failed")

    async def _end(self, body: Body, terminal: str | None = None) -> Body:
        """Save the ended response, then send its terminal event (a cancelled one has none)."""
        if self.azure and "content_filters" not in body:
            body = azure.with_content_filters(body, None)
        self.final = body
        self.status = body["status"]
        if self.generation.request.store:
            await self._save(body)
        if self.generation.request.conversation and body["status"] in KEPT_IN_CONVERSATION:
            await self._run(self._append, body)
        self._changed(finished=True)
        if terminal is not None:
            self._send(response_event(terminal, body))
        if self.log is not None:
            self.log.close()
        return body

    async def _save(self, body: Body) -> None:
        await self._run(self.store.save, body, self.generation.context.input)

    def _append(self, body: Body) -> None:
        conversation = self.generation.request.conversation
        if self.conversations is not None and conversation is not None:
            self.conversations.append(conversation, self.generation.context.input + body["output"])

    async def _run(self, work: Callable[..., Any], *args: Any) -> None:
        if self.offload is None:
            work(*args)
        else:
            await self.offload(work, *args)

    def _output(self) -> list[dict[str, Any]]:
        return list(self.generation.output)

    def _changed(self, *, finished: bool = False) -> None:
        if self.on_change is not None:
            self.on_change(self.snapshot(), finished)

    def _send(self, event: dict[str, Any]) -> None:
        if self.log is not None:
            self.log.append(event)
