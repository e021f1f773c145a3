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
from agentkit.run.calls import run_calls
from agentkit.run.events import (
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


async def iterate(setup: RunSetup, state: RunState, *, stream: bool) -> AsyncIterator[RunEvent]:
    """Run until the model answers without tool calls; yields events, ends with FinalResult."""
    while True:
        if state.turn >= setup.max_turns:
            raise MaxTurnsExceeded(
                f"The run reached max_turns={setup.max_turns} without a final answer.",
                state=state,
            )
        ctx = RunContext(setup.deps, turn=state.turn, model=setup.plan.model, run_id=state.run_id)
        instructions = await setup.instructions(ctx)
        response: Response | None = None
        async for event in _call_model(setup, state, instructions, stream):
            if isinstance(event, Response):
                response = event
            else:
                yield event
        assert response is not None
        output = [item.to_dict() for item in response.output]
        absorb(setup.plan, state.conversation, response.id, output)
        state.turn += 1
        used = Usage()
        used.add(response.usage)
        state.usage += used
        state.response_ids.append(response.id)
        yield ResponseCompleted(response.id, used, state.turn)
        calls = function_calls(output)
        if calls:
            async for event in _run_tools(setup, state, ctx, calls):
                yield event
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
        yield FinalResult(_result(state, final, text))
        return


async def _run_tools(
    setup: RunSetup, state: RunState, ctx: RunContext[Any], calls: list[dict[str, Any]]
) -> AsyncIterator[RunEvent]:
    for call in calls:
        yield ToolCallStarted(call["call_id"], call["name"], call["arguments"])
    try:
        outputs = await run_calls(calls, setup.tools, ctx, setup.tool_concurrency)
    except ToolError as error:
        error.state = state
        raise
    state.conversation.items.extend(outputs)
    for call, output in zip(calls, outputs, strict=True):
        yield ToolResult(call["call_id"], call["name"], output["output"])


async def _call_model(
    setup: RunSetup, state: RunState, instructions: str | None, stream: bool
) -> AsyncIterator[RunEvent | Response]:
    """One model call; recovers once from a lost `previous_response_id` chain."""
    for attempt in (1, 2):
        body = build_request(
            setup.plan, state.conversation, instructions, first_turn=state.turn == 0
        )
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
            if attempt == 1 and _chain_lost(error, body):
                _warn_chain_lost(body["previous_response_id"])
                state.conversation.mark_synced(None)
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


def _result(state: RunState, final: Any, text: str) -> RunResult[Any]:
    return RunResult(
        output=final,
        output_text=text,
        new_items=state.new_items,
        response_ids=list(state.response_ids),
        usage=state.usage,
        conversation=state.conversation,
    )
