"""A model call as an activity: the same `respond` as `Agent.run`, made durable by heartbeats.

A background call heartbeats its response's id and the last event's sequence number
(`Attachment`) from the moment the id is known; a retried attempt — on any worker, after a
crash — reads them back and reattaches to the same response instead of creating a new one.
A foreground call whose request has hosted tools with side effects heartbeats that it was
sent, so a retried attempt raises `ModelCallInterrupted` (via the workflow) instead of
sending it again. A worker shutting down leaves a background response running for the retry;
only a cancel the workflow asks for cancels it on the service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from temporalio import activity

from agentkit.model import wire
from agentkit.model.call import Attachment, Finished, resendable
from agentkit.model.retry import reached_the_model
from agentkit.run.model_call import ModelCaller
from agentkit.temporal.failures import interrupted, model_failure
from agentkit.temporal.heartbeat import Details, Heartbeat
from agentkit.temporal.payloads import Body, answer

Cancel = Callable[[str], Awaitable[None]]
"""Cancels a background response by its id."""


class ModelActivityCall:
    """One attempt at one model call."""

    def __init__(self, caller: ModelCaller, body: Body, *, background: bool) -> None:
        self.caller = caller
        self.body = body
        self.background = background
        previous = Heartbeat.previous()
        found = previous.get("attachment")
        self.attachment = None if found is None else Attachment.from_dict(found)
        self.sent: bool | None = previous.get("sent")
        self.heartbeat = Heartbeat(self.details)

    def details(self) -> Details | None:
        if self.attachment is not None:
            return {"attachment": self.attachment.to_dict()}
        return None if self.sent is None else {"sent": self.sent}

    async def run(self) -> Body:
        guarded = not self.background and not resendable(self.body)
        if guarded and self.sent:
            raise interrupted(
                "the worker that sent it stopped before its answer arrived, and its hosted "
                "tools may have run"
            )
        if guarded:
            self.sent = True
            self.heartbeat.beat()  # before sending: a retried attempt must know it may have run
        # A new background call starts beating once attached (its first beat carries the id).
        async with self.heartbeat.running(timer=not self.background or self.attachment is not None):
            try:
                return await self._respond()
            except Exception as error:
                if guarded and not reached_the_model(error):
                    self.sent = False  # provably not sent: the retry may send it
                self.heartbeat.beat()  # the latest details, for the retry to start from
                failure = model_failure(error, self.body, attached=self.attachment is not None)
                if failure is error:
                    raise
                raise failure from None  # the cause would go into history with its text

    async def _respond(self) -> Body:
        calls = self.caller(self.body, attachment=self.attachment, on_attach=self._attached)
        async for item in calls:
            if isinstance(item, Finished):
                return answer(item.body)
        raise wire.MalformedAnswer("the model call ended without a response")  # pragma: no cover

    async def _attached(self, attachment: Attachment) -> None:
        self.attachment = attachment  # `respond` moves its sequence on as events arrive
        self.heartbeat.start()


def cancel_requested() -> bool:
    """Whether the workflow asked to cancel this activity (not a shutdown, not a timeout)."""
    details = activity.cancellation_details()
    return details is not None and details.cancel_requested


async def call_model(caller: ModelCaller, body: Body, *, background: bool, cancel: Cancel) -> Body:
    """Run one attempt; a background response the workflow gave up on is cancelled."""
    call = ModelActivityCall(caller, body, background=background)
    try:
        return await call.run()
    except asyncio.CancelledError:
        if call.attachment is not None and cancel_requested():
            await asyncio.shield(cancel(call.attachment.response_id))
        raise
