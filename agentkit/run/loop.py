"""The agent loop: build request → call the model → run tools → repeat, as one async generator.

`Agent.run` drains it for the result and `Agent.stream` hands its events to the user, so
both share every step.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import openai
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseErrorEvent,
    ResponseFailedEvent,
    ResponseIncompleteEvent,
    ResponseReasoningSummaryTextDeltaEvent,
    ResponseTextDeltaEvent,
)
from pydantic import ValidationError

from agentkit.context import RunContext
from agentkit.errors import MaxTurnsExceeded, ModelCallError, OutputValidationError, ToolError
from agentkit.model import RetryPolicy, Usage, create_response, stream_response
from agentkit.run.approvals import (
    ApprovalPolicy,
    Decision,
    Pending,
    ask,
    declined_output,
    mcp_response,
    requests_in,
    revoke_changed,
    unanswered_calls,
)
from agentkit.run.calls import function_output, run_calls
from agentkit.run.containers import ContainerKeeper
from agentkit.run.conversation import Item
from agentkit.run.events import (
    ApprovalDecided,
    ApprovalRequested,
    FinalResult,
    ReasoningSummaryDelta,
    ResponseCompleted,
    RunEvent,
    TextDelta,
    ToolCallStarted,
    ToolResult,
)
from agentkit.run.output import OutputSpec, describe_failure
from agentkit.run.request import (
    RequestPlan,
    absorb,
    build_request,
    function_calls,
    output_text,
    user_message,
)
from agentkit.run.result import RunResult
from agentkit.run.state import RunState
from agentkit.tools import FunctionTool
from agentkit.tools.function import output_text as tool_output_text

log = logging.getLogger("agentkit")


class ChainRecoveryWarning(UserWarning):
    """The service lost the stored chain; the run resent the transcript instead."""


@dataclass(frozen=True)
class RunSetup:
    """Everything a run needs besides its state, resolved by the Agent."""

    client: openai.AsyncOpenAI
    plan: RequestPlan
    tools: Mapping[str, FunctionTool]
    output: OutputSpec
    instructions: Callable[[RunContext[Any]], Awaitable[str | None]]
    deps: Any
    max_turns: int
    output_retries: int
    retry: RetryPolicy
    extra_headers: Mapping[str, str]
    tool_concurrency: int
    approval: ApprovalPolicy | None = None
    tools_hash: str = ""
    """A hash of the agent's own tool definitions, kept in a paused state to check on resume."""
    containers: ContainerKeeper | None = None
    """Keeps the code interpreter's container across turns (None: no code interpreter)."""


async def iterate(setup: RunSetup, state: RunState, *, stream: bool) -> AsyncIterator[RunEvent]:
    """Run until the model answers without tool calls; yields events, ends with FinalResult.

    A paused `state` (claimed for resuming) first has its approvals settled; a run whose
    approvals are not all decided ends with a paused result instead of an answer.
    """
    if state.paused:
        async for step in _resume(setup, state):
            yield step
        if state.paused:
            return
    while True:
        if state.turn >= setup.max_turns:
            raise MaxTurnsExceeded(
                f"The run reached max_turns={setup.max_turns} without a final answer.",
                state=state,
            )
        ctx = _context(setup, state)
        instructions = await setup.instructions(ctx)
        response: Response | None = None
        async for event in _call_model(setup, state, instructions, stream):
            if isinstance(event, Response):
                response = event
            else:
                yield event
        assert response is not None
        output, used = _take(setup, state, response)
        yield ResponseCompleted(response.id, used, state.turn)
        calls = function_calls(output)
        requests = await requests_in(output, calls, setup.tools, ctx)
        if calls or requests:
            state.approvals = [Pending(request) for request in requests]
            for request in requests:
                yield ApprovalRequested(request)
            async for step in _settle(setup, state, ctx):
                yield step
            if state.paused:
                return
            continue
        text = output_text(output)
        try:
            final = setup.output.parse(text)
        except (ValidationError, ValueError) as error:
            if state.output_retries >= setup.output_retries:
                raise OutputValidationError(
                    f"The final answer did not match the output type: {error}", state=state
                ) from error
            state.output_retries += 1
            state.conversation.items.append(user_message(describe_failure(error)))
            continue
        state.status = "finished"
        yield FinalResult(_result(state, text, final))
        return


def _take(setup: RunSetup, state: RunState, response: Response) -> tuple[list[Item], Usage]:
    """Add a response to the state: its output items, a turn, its usage; its output and usage."""
    output = [item.to_dict() for item in response.output]
    absorb(setup.plan, state.conversation, response.id, output)
    state.turn += 1
    used = Usage()
    used.add(response.usage)
    state.usage += used
    state.response_ids.append(response.id)
    return output, used


def _context(setup: RunSetup, state: RunState) -> RunContext[Any]:
    return RunContext(setup.deps, turn=state.turn, model=setup.plan.model, run_id=state.run_id)


async def _resume(setup: RunSetup, state: RunState) -> AsyncIterator[RunEvent]:
    """Settle a claimed paused state's approvals: re-ask those whose tool changed since."""
    for name in revoke_changed(state.approvals, setup.tools):
        log.warning("Tool %r changed since its call was approved; asking again.", name)
    for entry in state.approvals:
        if entry.decision is not None:
            yield ApprovalDecided(entry.request, entry.decision)
    async for event in _settle(setup, state, _context(setup, state)):
        yield event


async def _settle(
    setup: RunSetup, state: RunState, ctx: RunContext[Any]
) -> AsyncIterator[RunEvent]:
    """Ask the policy about undecided approvals; pause if any stays undecided, else answer."""
    for entry in await ask(setup.approval, state.approvals):
        assert entry.decision is not None
        yield ApprovalDecided(entry.request, entry.decision)
    if state.pending_approvals:
        state.pause(setup.tools_hash)
        log.info("Run %s paused for %d approvals.", state.run_id, len(state.pending_approvals))
        yield FinalResult(_result(state, "", None))
        return
    state.status = "running"
    async for event in _answer(setup, state, ctx):
        yield event


async def _answer(
    setup: RunSetup, state: RunState, ctx: RunContext[Any]
) -> AsyncIterator[RunEvent]:
    """Run the turn's allowed calls and answer every call and approval request."""
    declined = {p.request.id: p.decision for p in state.approvals if not _approved(p)}
    calls = unanswered_calls(state.new_items)
    allowed = [call for call in calls if call["call_id"] not in declined]
    for call in allowed:
        yield ToolCallStarted(call["call_id"], call["name"], call["arguments"])
    try:
        outputs = await run_calls(allowed, setup.tools, ctx, setup.tool_concurrency)
    except ToolError as error:
        error.state = state
        raise
    ran = {output["call_id"]: output for output in outputs}
    state.conversation.items.extend(
        ran.get(call["call_id"]) or _declined(call, declined[call["call_id"]]) for call in calls
    )
    state.conversation.items.extend(
        mcp_response(p.request.id, p.decision)
        for p in state.approvals
        if p.request.kind == "mcp" and p.decision is not None
    )
    state.approvals = []
    for call, output in zip(allowed, outputs, strict=True):
        yield ToolResult(call["call_id"], call["name"], tool_output_text(output["output"]))


def _approved(entry: Pending) -> bool:
    return entry.decision is not None and entry.decision.approved


def _declined(call: Item, decision: Decision | None) -> Item:
    reason = decision.reason if decision is not None else None
    return function_output(call["call_id"], declined_output(call["name"], reason))


async def _call_model(
    setup: RunSetup, state: RunState, instructions: str | None, stream: bool
) -> AsyncIterator[RunEvent | Response]:
    """One model call; recovers once from a lost `previous_response_id` chain, and from an
    expired code interpreter container."""
    for attempt in (1, 2, 3):
        body = build_request(
            setup.plan, state.conversation, instructions, first_turn=state.turn == 0
        )
        if setup.containers is not None:
            body = setup.containers.pin(body, state.conversation.items)
        try:
            if stream:
                async for event in _streamed(setup, body):
                    yield event
            else:
                yield await create_response(
                    setup.client, body, extra_headers=setup.extra_headers, retry=setup.retry
                )
            return
        except openai.BadRequestError as error:
            if attempt < 3 and _chain_lost(error, body):
                _warn_chain_lost(body["previous_response_id"])
                state.conversation.mark_synced(None)
                continue
            if attempt < 3 and setup.containers and setup.containers.recover(error, body, state):
                continue
            raise _model_error(error, state) from error
        except openai.NotFoundError as error:
            if attempt < 3 and setup.containers and setup.containers.recover(error, body, state):
                continue
            raise _model_error(error, state) from error
        except openai.APIError as error:
            raise _model_error(error, state) from error
        except _StreamError as error:
            raise ModelCallError(
                f"The model stream failed: {error.message}",
                state=state,
                status_code=None,
                code=error.code,
            ) from error


async def _streamed(setup: RunSetup, body: dict[str, Any]) -> AsyncIterator[RunEvent | Response]:
    response_id = ""  # delta events name their item; `response.created` names the response
    async for event in stream_response(
        setup.client, body, extra_headers=setup.extra_headers, retry=setup.retry
    ):
        if isinstance(event, ResponseCreatedEvent):
            response_id = event.response.id
        elif isinstance(event, ResponseTextDeltaEvent):
            yield TextDelta(event.delta, response_id)
        elif isinstance(event, ResponseReasoningSummaryTextDeltaEvent):
            yield ReasoningSummaryDelta(event.delta, response_id)
        elif isinstance(
            event, ResponseCompletedEvent | ResponseIncompleteEvent | ResponseFailedEvent
        ):
            yield event.response
        elif isinstance(event, ResponseErrorEvent):
            raise _StreamError(event.message, event.code)


class _StreamError(Exception):
    """The service sent an `error` event in the middle of a stream."""

    def __init__(self, message: str, code: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _chain_lost(error: openai.BadRequestError, body: dict[str, Any]) -> bool:
    return "previous_response_id" in body and error.code == "previous_response_not_found"


def _warn_chain_lost(response_id: str) -> None:
    message = (
        f"previous_response_id {response_id} is no longer stored by the service; "
        "resending the conversation's transcript instead."
    )
    log.warning(message)
    warnings.warn(message, ChainRecoveryWarning, stacklevel=2)


def _model_error(error: openai.APIError, state: RunState) -> ModelCallError:
    status = getattr(error, "status_code", None)
    code = getattr(error, "code", None)
    return ModelCallError(
        f"The model call failed: {error.message}", state=state, status_code=status, code=code
    )


def _result(state: RunState, text: str, final: Any) -> RunResult[Any]:
    return RunResult(
        output_text=text,
        new_items=state.new_items,
        response_ids=list(state.response_ids),
        usage=state.usage,
        conversation=state.conversation,
        state=state,
        pending_approvals=state.pending_approvals,
        _output=final,
    )
