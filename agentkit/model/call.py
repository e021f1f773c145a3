"""One model call, however it is made, ending in the finished Response body.

- Foreground: one `POST /responses`, its JSON or its event stream.
- Background (`Background` settings): the response runs on the service under an id known
  from its first event (or its `queued` body); the call streams it and, when the stream
  drops or goes silent, reattaches with `starting_after` — or polls with backoff. Given an
  `Attachment` (from a checkpoint, another worker), it reattaches instead of creating.
  Abandoning the call (task cancelled, generator closed) cancels the background response.

What is resent after a failure, per case: a request that provably never reached the model
(refused connection, 429) always; one that may have (5xx, reset, timeout, a malformed 200, a
broken stream) only when it has no hosted tool with side effects (`resendable`); a background
response whose id is known is never created again, only reattached.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import openai

from agentkit.model import wire
from agentkit.model.retry import (
    RetryPolicy,
    backoff,
    is_retryable,
    reached_the_model,
    retry_events,
)
from agentkit.model.timeouts import Timeouts

__all__ = [
    "SAFE_TOOL_TYPES",
    "Attachment",
    "Background",
    "CallSettings",
    "Finished",
    "ResponseLost",
    "may_resend",
    "resendable",
    "respond",
]

log = logging.getLogger("agentkit.model")

Body = dict[str, Any]
Event = dict[str, Any]

SAFE_TOOL_TYPES = frozenset(
    {"function", "custom", "file_search", "web_search", "web_search_preview"}
)
"""Tools whose calls have no side effect on the service's side (function tools run here)."""


@dataclass(frozen=True, kw_only=True)
class Background:
    """Run each model call as a background response.

    Args:
        stream: Stream it (resuming by `starting_after` after a drop or a stall), or poll it.
        poll_interval: Seconds before the first poll; grows by half each poll.
        max_poll_interval: The longest wait between two polls.
        cancel_on_abandon: Cancel the background response when the call is abandoned (its
            task cancelled, its stream closed). Off where another process takes it over.
    """

    stream: bool = True
    poll_interval: float = 0.5
    max_poll_interval: float = 5.0
    cancel_on_abandon: bool = True


@dataclass
class Attachment:
    """A background response in flight: enough to reattach to it from anywhere."""

    response_id: str
    sequence: int | None = None
    """The last event's sequence number seen (None: none yet, or polled)."""
    streamed: bool = True
    """Whether it was created with `stream: true` (only such responses stream again)."""
    ended: bool = field(default=False, compare=False)
    """Set once the response is known to have ended unfinished (failed, cancelled by us):
    nothing is left to reattach to. Not saved."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "response_id": self.response_id,
            "sequence": self.sequence,
            "streamed": self.streamed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Attachment:
        sequence = data.get("sequence")
        return cls(
            str(data["response_id"]),
            None if sequence is None else int(sequence),
            bool(data.get("streamed", True)),
        )


@dataclass(frozen=True)
class Finished:
    """The call's last item: the Response body in a terminal status."""

    body: Body


@dataclass(frozen=True, kw_only=True)
class CallSettings:
    """How to make model calls: headers, retries, deadlines, streaming, background."""

    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold keys
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeouts: Timeouts = field(default_factory=Timeouts)
    stream: bool = False
    background: Background | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


class ResponseLost(Exception):
    """The background response to reattach to no longer exists on the service."""

    def __init__(self, response_id: str) -> None:
        super().__init__(f"The background response {response_id} no longer exists.")
        self.response_id = response_id


def resendable(body: Mapping[str, Any]) -> bool:
    """Whether sending `body` twice can do no harm: no hosted tool with side effects."""
    tools = body.get("tools") or ()
    return all(isinstance(t, dict) and t.get("type") in SAFE_TOOL_TYPES for t in tools)


OnAttach = Callable[[Attachment], Awaitable[None]]


async def respond(
    client: openai.AsyncOpenAI,
    body: Body,
    settings: CallSettings,
    *,
    attachment: Attachment | None = None,
    on_attach: OnAttach | None = None,
) -> AsyncIterator[Event | Finished]:
    """The call's events as dicts (the service's, or `response.queued`/`.in_progress` status
    events when polling), then `Finished`. `on_attach` is awaited once a background
    response's id is known, before anything else happens."""
    if settings.background is None and attachment is None:
        calls = (
            _streamed(client, body, settings)
            if settings.stream
            else _created(client, body, settings)
        )
        async for item in calls:
            yield item
        return
    call = _BackgroundCall(client, body, settings, attachment, on_attach)
    async for item in call.events():
        yield item


def may_resend(body: Body) -> Callable[[BaseException], bool]:
    """Whether a call of `body` that failed with an error may be sent again (before any
    background response id is known): if it never reached the model, or resending is safe."""
    safe = resendable(body)

    def retryable(error: BaseException) -> bool:
        if isinstance(error, wire.MalformedAnswer | wire.StreamInterrupted):
            return safe
        return is_retryable(error) and (safe or not reached_the_model(error))

    return retryable


async def _created(
    client: openai.AsyncOpenAI, body: Body, settings: CallSettings
) -> AsyncIterator[Event | Finished]:
    """A non-streamed call, bounded as a whole by `timeouts.total`."""

    async def once() -> AsyncIterator[Finished]:
        timeout = settings.timeouts.http()
        yield Finished(
            await wire.create(client, body, headers=settings.headers, http_timeout=timeout)
        )

    attempts = retry_events(once, settings.retry, may_resend(body), sleep=settings.sleep)
    async with asyncio.timeout(settings.timeouts.total):
        finished = [item async for item in attempts]
    yield finished[-1]


async def _streamed(
    client: openai.AsyncOpenAI, body: Body, settings: CallSettings
) -> AsyncIterator[Event | Finished]:
    """A streamed foreground call (a retried one streams again from its start); opening it,
    every retry included, is bounded by `timeouts.total`."""
    total = settings.timeouts.total
    open_by = None if total is None else asyncio.get_running_loop().time() + total

    async def once() -> AsyncIterator[Event | Finished]:
        events = wire.stream_create(
            client,
            body,
            headers=settings.headers,
            http_timeout=settings.timeouts.http(),
            open_by=open_by,
        )
        async for event in events:
            yield Finished(event["response"]) if event["type"] in wire.TERMINAL_EVENTS else event

    retryable = may_resend(body)
    async for item in retry_events(once, settings.retry, retryable, sleep=settings.sleep):
        yield item


class _BackgroundCall:
    """One background model call: create or reattach, follow to the end, cancel if abandoned."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        body: Body,
        settings: CallSettings,
        attachment: Attachment | None,
        on_attach: OnAttach | None,
    ) -> None:
        self.client = client
        self.body = body
        self.settings = settings
        self.background = settings.background or Background()
        self.attachment = attachment
        self.on_attach = on_attach
        self.finished = False

    async def events(self) -> AsyncIterator[Event | Finished]:
        try:
            if self.attachment is None:
                async for item in self._create():
                    yield item
            if not self.finished:
                follow = self._follow() if self._streams() else self._poll()
                async for item in follow:
                    yield item
        except wire.StreamFailed:
            if self.attachment is not None:
                self.attachment.ended = True
            raise
        except (asyncio.CancelledError, GeneratorExit):
            if self.attachment is not None and not self.finished:
                await self._cancel()
            raise

    def _streams(self) -> bool:
        return self.background.stream and (self.attachment is None or self.attachment.streamed)

    async def _attach(self, response_id: str, sequence: int | None) -> None:
        self.attachment = Attachment(response_id, sequence, streamed=self.background.stream)
        if self.on_attach is not None:
            await self.on_attach(self.attachment)

    async def _create(self) -> AsyncIterator[Event | Finished]:
        """Create the response; stream it until the stream breaks (then `_follow` resumes)."""
        body = {**self.body, "background": True}
        retryable = self._creation_retryable()
        if not self.background.stream:
            attempts = retry_events(
                lambda: self._post(body), self.settings.retry, retryable, sleep=self.settings.sleep
            )
            created = await _first(attempts)
            await self._attach(created["id"], None)
            if created["status"] in wire.TERMINAL_STATUSES:
                self.finished = True
                yield Finished(created)
                return
            yield {"type": f"response.{created['status']}", "response": created}
            async for item in self._poll(created["status"]):
                yield item
            return
        async for item in retry_events(
            lambda: self._stream_new(body),
            self.settings.retry,
            retryable,
            sleep=self.settings.sleep,
        ):
            yield item

    async def _post(self, body: Body) -> AsyncIterator[Body]:
        timeout = self.settings.timeouts.http()
        yield await wire.create(
            self.client, body, headers=self.settings.headers, http_timeout=timeout
        )

    async def _stream_new(self, body: Body) -> AsyncIterator[Event | Finished]:
        timeout = self.settings.timeouts.http(streaming_background=True)
        events = wire.stream_create(
            self.client, body, headers=self.settings.headers, http_timeout=timeout
        )
        try:
            async for event in events:
                if self.attachment is None:
                    await self._attach(_id_of(event), event.get("sequence_number"))
                assert self.attachment is not None
                self.attachment.sequence = event.get("sequence_number", self.attachment.sequence)
                if event["type"] in wire.TERMINAL_EVENTS:
                    self.finished = True
                    yield Finished(event["response"])
                    return
                yield event
        except (wire.StreamInterrupted, wire.MalformedAnswer, openai.APIConnectionError) as error:
            if self.attachment is None:
                raise
            log.info(
                "Background response %s: stream %s; resuming.",
                self.attachment.response_id,
                _why(error),
            )

    def _creation_retryable(self) -> Callable[[BaseException], bool]:
        """Before the response's id is known, a failure may be retried as a foreground one."""
        foreground = may_resend(self.body)

        def retryable(error: BaseException) -> bool:
            return self.attachment is None and foreground(error)

        return retryable

    async def _follow(self) -> AsyncIterator[Event | Finished]:
        """Stream the attached response from after its last event until it ends."""
        attachment = self.attachment
        assert attachment is not None
        failures = 0
        while True:
            stalled = False
            try:
                async for event in self._resumed(attachment):
                    failures = 0
                    yield event
                    if isinstance(event, Finished):
                        return
            except (wire.StreamInterrupted, wire.MalformedAnswer, openai.APIError) as error:
                self._raise_unless_passing(error)
                stalled = isinstance(error, wire.StreamInterrupted) and error.reason == "stalled"
                log.info(
                    "Background response %s: stream %s; resuming.",
                    attachment.response_id,
                    _why(error),
                )
            body = await self._status(failures)
            if body is None:
                failures += 1
                continue
            failures = 0
            if body["status"] in wire.TERMINAL_STATUSES:
                self.finished = True
                yield Finished(body)
                return
            if not stalled:  # a silent stream reconnects at once; a broken one after a pause
                await self.settings.sleep(self.background.poll_interval)

    async def _resumed(self, attachment: Attachment) -> AsyncIterator[Event | Finished]:
        timeout = self.settings.timeouts.http(streaming_background=True)
        events = wire.stream_retrieve(
            self.client,
            attachment.response_id,
            attachment.sequence,
            headers=self.settings.headers,
            http_timeout=timeout,
        )
        async for event in events:
            number = event.get("sequence_number")
            if (
                isinstance(number, int)
                and attachment.sequence is not None
                and number <= attachment.sequence
            ):
                continue  # a server that resends what we have seen must not make us see it twice
            attachment.sequence = number if isinstance(number, int) else attachment.sequence
            if event["type"] in wire.TERMINAL_EVENTS:
                self.finished = True
                yield Finished(event["response"])
                return
            yield event

    async def _status(self, failures: int) -> Body | None:
        """The response as it is now, or None after a passing failure (raised when they
        keep failing: `retry.max_attempts` in a row)."""
        assert self.attachment is not None
        try:
            return await wire.retrieve(
                self.client,
                self.attachment.response_id,
                headers=self.settings.headers,
                http_timeout=self.settings.timeouts.http(),
            )
        except (wire.MalformedAnswer, openai.APIError) as error:
            self._raise_unless_passing(error)
            if failures + 1 >= self.settings.retry.max_attempts:
                raise
            await self.settings.sleep(backoff(self.settings.retry, failures + 1))
            return None

    async def _poll(self, status: str | None = None) -> AsyncIterator[Event | Finished]:
        """Poll the attached response with growing waits until it ends; `status` is the one
        already seen (the first poll waits when there is one)."""
        delay = self.background.poll_interval
        failures = 0
        while True:
            if status is not None:
                await self.settings.sleep(delay)
                delay = min(delay * 1.5, self.background.max_poll_interval)
            body = await self._status(failures)
            if body is None:
                failures += 1
                continue
            failures = 0
            if body["status"] in wire.TERMINAL_STATUSES:
                self.finished = True
                yield Finished(body)
                return
            if body["status"] != status:
                status = body["status"]
                yield {"type": f"response.{status}", "response": body}

    def _raise_unless_passing(self, error: BaseException) -> None:
        """Raise what retrying cannot mend: the response is gone, or the service refuses."""
        if isinstance(error, openai.NotFoundError) and self.attachment is not None:
            raise ResponseLost(self.attachment.response_id) from error
        if isinstance(error, openai.APIError) and not is_retryable(error):
            raise error

    async def _cancel(self) -> None:
        """Cancel the abandoned background response, briefly and without raising."""
        assert self.attachment is not None
        if not self.background.cancel_on_abandon:
            return
        response_id = self.attachment.response_id
        try:
            cancel = wire.cancel(self.client, response_id, headers=self.settings.headers)
            await asyncio.shield(asyncio.wait_for(cancel, self.settings.timeouts.connect or 10.0))
            self.attachment.ended = True
            log.info("Cancelled background response %s.", response_id)
        except (Exception, asyncio.CancelledError) as error:
            log.warning("Could not cancel background response %s: %s", response_id, _why(error))


async def _first(items: AsyncIterator[Body]) -> Body:
    async for item in items:
        return item
    raise RuntimeError("the call yielded nothing")  # pragma: no cover - every attempt yields


def _id_of(event: Event) -> str:
    response = event.get("response")
    if not isinstance(response, dict) or not isinstance(response.get("id"), str):
        raise wire.MalformedAnswer(
            "a background stream's first event names no response", str(event)
        )
    return response["id"]  # type: ignore[no-any-return]


def _why(error: BaseException) -> str:
    if isinstance(error, wire.StreamInterrupted):
        return error.reason
    if isinstance(error, openai.APIStatusError):
        return f"failed with HTTP {error.status_code}"
    return f"failed ({type(error).__name__})"
