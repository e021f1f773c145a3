"""One model call of a run: build the request, send it, recover what can be recovered.

The send step is a `ModelCaller` (by default `agentkit.model.call.respond` on the agent's
client; on Temporal, an activity). Around it, named recoverers mend the run's state and
send again: a lost `previous_response_id` chain, an expired code interpreter container, a
background response that vanished, reasoning items the model refuses, a transcript the service
refused to read (`repair`). Drops, stalls and malformed answers are handled below,
in the send step, where it is known whether resending is safe. What cannot be recovered
becomes a typed `RunError` carrying the state.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import openai

from agentkit.errors import (
    ConfigurationError,
    MalformedResponseError,
    ModelCallError,
    ModelCallInterrupted,
    RunCancelled,
    RunError,
)
from agentkit.model import wire
from agentkit.model.call import Attachment, Finished, ResponseLost, resendable
from agentkit.model.retry import reached_the_model
from agentkit.run import repair
from agentkit.run.events import (
    BackgroundStatus,
    HostedToolProgress,
    PartialImage,
    ReasoningSummaryDelta,
    RunEvent,
    TextDelta,
)
from agentkit.run.reasoning import recover_refused_reasoning
from agentkit.run.request import build_request
from agentkit.run.state import RunState

if TYPE_CHECKING:
    from agentkit.run.loop import RunSetup

log = logging.getLogger("agentkit")

Event = dict[str, Any]
Body = dict[str, Any]


class ModelCaller(Protocol):
    """Sends one request body: yields the service's events as dicts, then `Finished`.

    Given `attachment`, it reattaches to that background response instead of sending;
    `on_attach` is awaited once a new background response's id is known.
    """

    def __call__(
        self,
        body: Body,
        *,
        attachment: Attachment | None,
        on_attach: Callable[[Attachment], Awaitable[None]],
    ) -> AsyncIterator[Event | Finished]: ...


class ChainRecoveryWarning(UserWarning):
    """The service lost the stored chain; the run resent the transcript instead."""


MAX_SENDS = 4
"""How often one model call is sent at most: the first time, then after three recoveries."""


async def call_model(
    setup: RunSetup, state: RunState, instructions: str | None
) -> AsyncIterator[RunEvent | Finished]:
    """One model call: progress events, then `Finished` with a completed or incomplete body."""
    for send in range(1, MAX_SENDS + 1):
        await _open_conversation(setup, state)
        body = request_body(setup, state, instructions)
        try:
            async for item in _send(setup, state, body):
                yield item
            return
        except ConfigurationError:
            raise  # a setup problem, such as a failed Entra ID sign-in: not this call's
        except Exception as error:
            if send == MAX_SENDS or not any(r(error, body, setup, state) for r in RECOVERERS):
                raise run_error(error, body, state) from error


async def _open_conversation(setup: RunSetup, state: RunState) -> None:
    """With `chaining="conversation"`, make the service's Conversation the first time: the
    next request sends every item so far into it."""
    conversation = state.conversation
    if setup.plan.chaining != "conversation" or conversation.conversation_id is not None:
        return
    if setup.open_conversation is None:
        raise ConfigurationError("chaining='conversation' needs a client to create one with")
    conversation.conversation_id = await setup.open_conversation()
    conversation.mark_synced(None)
    log.info(
        "Run %s keeps its turns in conversation %s.", state.run_id, conversation.conversation_id
    )
    await setup.checkpoint(state)


def request_body(setup: RunSetup, state: RunState, instructions: str | None) -> Body:
    """The next request (pure): the plan's fields, the conversation, the pinned container."""
    body = build_request(setup.plan, state.conversation, instructions, first_turn=state.turn == 0)
    if setup.containers is not None:
        body = setup.containers.pin(body, state.conversation.items)
    return body


async def _send(setup: RunSetup, state: RunState, body: Body) -> AsyncIterator[RunEvent | Finished]:
    async def attached(attachment: Attachment) -> None:
        state.in_flight = attachment
        await setup.checkpoint(state)

    progress = _Progress(state.in_flight.response_id if state.in_flight else "")
    async for item in setup.model(body, attachment=state.in_flight, on_attach=attached):
        if isinstance(item, Finished):
            _check_finished(item.body, state)
            yield item
            return
        event = progress.event(item)
        if event is not None:
            yield event


def _check_finished(body: Body, state: RunState) -> None:
    """Raise for a response that failed or was cancelled on the service."""
    status = body.get("status")
    if status == "cancelled":
        state.in_flight = None
        raise RunCancelled(
            f"The response {body.get('id')} was cancelled on the service.", state=state
        )
    if status == "failed":
        state.in_flight = None
        error = body.get("error") or {}
        message = error.get("message") or "The response failed."
        raise ModelCallError(
            f"The model call failed: {message}",
            state=state,
            status_code=None,
            code=error.get("code"),
        )


# --- recoverers: each mends the state so the call can be sent again, or says it cannot ---------


def recover_lost_chain(error: Exception, body: Body, setup: RunSetup, state: RunState) -> bool:
    """The service no longer holds `previous_response_id`: send the transcript instead."""
    lost = (
        isinstance(error, openai.BadRequestError)
        and "previous_response_id" in body
        and error.code == "previous_response_not_found"
    )
    if lost:
        message = (
            f"previous_response_id {body['previous_response_id']} is no longer stored by the "
            "service; resending the conversation's transcript instead."
        )
        log.warning(message)
        warnings.warn(message, ChainRecoveryWarning, stacklevel=2)
        state.conversation.mark_synced(None)
    return lost


def recover_lost_conversation(
    error: Exception, body: Body, setup: RunSetup, state: RunState
) -> bool:
    """The service's Conversation is gone: keep the turns in a new one, sending every item."""
    lost = (
        isinstance(error, openai.NotFoundError)
        and "conversation" in body
        and "Conversation" in str(error.message)
    )
    if lost:
        message = (
            f"The service no longer holds conversation {body['conversation']}; continuing in a "
            "new one with the transcript."
        )
        log.warning(message)
        warnings.warn(message, ChainRecoveryWarning, stacklevel=2)
        state.conversation.conversation_id = None
        state.conversation.mark_synced(None)
    return lost


def recover_expired_container(
    error: Exception, body: Body, setup: RunSetup, state: RunState
) -> bool:
    """The code interpreter's container expired: continue in a new one (or raise, as the
    tool says)."""
    return (
        setup.containers is not None
        and isinstance(error, openai.APIStatusError)
        and setup.containers.recover(error, body, state)
    )


def recover_lost_response(error: Exception, body: Body, setup: RunSetup, state: RunState) -> bool:
    """The background response to reattach to is gone: create it again if that is safe."""
    if not isinstance(error, ResponseLost) or not resendable(body):
        return False
    log.warning("%s Sending the request again.", error)
    state.in_flight = None
    return True


def repair_replay(error: Exception, body: Body, setup: RunSetup, state: RunState) -> bool:
    """The service refused part of the transcript (see `agentkit.run.repair`): send it mended.

    A repair that changes what the service holds sends the transcript by value from then on;
    de-duplicating and answering a dangling call keep the chain.
    """
    if not isinstance(error, openai.BadRequestError | openai.NotFoundError):
        return False
    items, held = state.conversation.items, state.conversation.synced
    message = str(error.message)
    chained = True
    repaired: list[repair.Item] | None = None
    if error.code == "invalid_encrypted_content":
        repaired, chained = repair.drop_sealed_reasoning(items), False
    elif (item_id := repair.missing_item_id(message)) is not None:
        repaired, chained = repair.without_missing_item(items, item_id), False
    elif (item_id := repair.duplicate_id(message)) is not None:
        repaired = repair.without_duplicates(items, item_id, held)
    elif (call_id := repair.unanswered_call(message)) is not None:
        repaired = repair.answer_dangling_call(items, call_id, held)
    if repaired is None:
        return False
    note = f"The service refused the transcript ({message}); sending it repaired."
    log.warning(note)
    warnings.warn(note, repair.ReplayRepairWarning, stacklevel=2)
    _replace_items(state, repaired)
    if not chained:
        state.conversation.mark_synced(None)
    return True


def _replace_items(state: RunState, repaired: list[repair.Item]) -> None:
    """Put the repaired items in place, keeping `start` on this run's first new item."""
    items = state.conversation.items
    first_change = next(
        (i for i, (old, new) in enumerate(zip(items, repaired, strict=False)) if old is not new),
        min(len(items), len(repaired)),
    )
    if first_change < state.start:
        state.start = max(0, min(len(repaired), state.start + len(repaired) - len(items)))
    state.conversation.items[:] = repaired


RECOVERERS = (
    recover_lost_chain,
    recover_lost_conversation,
    recover_expired_container,
    recover_lost_response,
    recover_refused_reasoning,
    repair_replay,
)


def run_error(error: Exception, body: Body, state: RunState) -> RunError:
    """The typed error a model call failure becomes, carrying the run's state."""
    if isinstance(error, RunError):
        return error
    if isinstance(error, openai.APIStatusError):
        return ModelCallError(
            f"The model call failed: {error.message}",
            state=state,
            status_code=error.status_code,
            code=error.code,
        )
    if isinstance(error, wire.StreamFailed):
        return ModelCallError(
            f"The model stream failed: {error.message}",
            state=state,
            status_code=None,
            code=error.code,
        )
    if isinstance(error, wire.MalformedAnswer):
        return MalformedResponseError(
            f"The model endpoint's answer was malformed: {error}",
            state=state,
            status_code=None,
            code="malformed_response",
        )
    if isinstance(error, ResponseLost):
        state.in_flight = None
        return ModelCallInterrupted(
            f"{error} It carried hosted tools, so it was not sent again; resume the run to "
            "send it again.",
            state=state,
            status_code=404,
            code="response_not_found",
        )
    return _interrupted(error, body, state)


def _interrupted(error: Exception, body: Body, state: RunState) -> ModelCallError:
    """A broken stream, a lost connection or a deadline."""
    what = {
        wire.StreamInterrupted: "the response stream broke off",
        openai.APITimeoutError: "the request timed out",
        openai.APIConnectionError: "the connection failed",
        TimeoutError: "the call took longer than its total deadline",
    }
    reason = next((text for kind, text in what.items() if isinstance(error, kind)), str(error))
    code = "timeout" if isinstance(error, TimeoutError | openai.APITimeoutError) else "interrupted"
    if resendable(body) or not reached_the_model(error):
        return ModelCallError(
            f"The model call failed: {reason}.", state=state, status_code=None, code=code
        )
    return ModelCallInterrupted(
        f"The model call failed: {reason}, after the request may have reached the model. It "
        "carries hosted tools with side effects, so it was not sent again; resume the run's "
        "state to send it again.",
        state=state,
        status_code=None,
        code=code,
    )


# --- progress: the service's events as the run's ----------------------------------------------

_HOSTED = re.compile(
    r"^response\.(code_interpreter_call|mcp_call|mcp_list_tools|image_generation_call|"
    r"web_search_call|file_search_call)\.([a-z_]+)$"
)


class _Progress:
    """Turns a call's events into the run's events, remembering the response id."""

    def __init__(self, response_id: str) -> None:
        self.response_id = response_id

    def event(self, event: Event) -> RunEvent | None:
        kind = event["type"]
        response = event.get("response")
        if isinstance(response, dict):
            self.response_id = response.get("id", self.response_id)
            if kind in ("response.queued", "response.in_progress") and response.get("background"):
                return BackgroundStatus(self.response_id, str(response.get("status")))
            return None
        if kind == "response.output_text.delta":
            return TextDelta(event["delta"], self.response_id)
        if kind == "response.reasoning_summary_text.delta":
            return ReasoningSummaryDelta(event["delta"], self.response_id)
        if kind == "response.image_generation_call.partial_image":
            return PartialImage(
                self.response_id,
                str(event.get("item_id", "")),
                int(event.get("partial_image_index", 0)),
                str(event.get("partial_image_b64", "")),
            )
        found = _HOSTED.match(kind)
        if found is not None:
            return HostedToolProgress(
                self.response_id, found[1], found[2], str(event.get("item_id", ""))
            )
        return None
