"""The agent loop: build request → call the model → run tools → repeat, as one async generator.

`Agent.run` drains it for the result, `Agent.stream` hands its events to the user and
`Agent.iter` its steps (each ends with a `StepEnd` mark), so all three share every step. After every step the state goes to `setup.checkpoint` (a no-op
without a checkpoint store), so a run resumes from where it stopped: between tool calls,
during a background model call, paused for approvals, or after a failure.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from agentkit.checkpoints.base import Checkpoints
from agentkit.context import RunContext
from agentkit.errors import (
    MaxTurnsExceeded,
    OutputValidationError,
    RunCancelled,
    RunError,
    ToolError,
)
from agentkit.guardrails import NONE, Guardrails, alongside, check_input, check_output
from agentkit.handoffs import Handoff, Team, switch
from agentkit.model import Usage
from agentkit.model.call import Finished
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
from agentkit.run.calls import ToolRunner, function_output, run_calls, run_tool
from agentkit.run.containers import ContainerKeeper
from agentkit.run.conversation import Item
from agentkit.run.events import (
    ApprovalDecided,
    ApprovalRequested,
    FinalResult,
    ResponseCompleted,
    RunEvent,
    ToolCallStarted,
    ToolResult,
)
from agentkit.run.model_call import ChainRecoveryWarning, ModelCaller, call_model
from agentkit.run.output import OutputSpec, describe_failure
from agentkit.run.request import RequestPlan, absorb, function_calls, output_text, user_message
from agentkit.run.result import RunResult
from agentkit.run.state import RunState, Status
from agentkit.run.steps import StepEnd
from agentkit.run.subruns import SubRunPaused, hold
from agentkit.tools import FunctionTool
from agentkit.tools.function import output_text as tool_output_text
from agentkit.tracing import NO_OBSERVER, Observer

__all__ = ["ChainRecoveryWarning", "RunSetup", "iterate"]

log = logging.getLogger("agentkit")

Checkpoint = Callable[[RunState], Awaitable[None]]


async def no_checkpoint(state: RunState) -> None:
    """Runs without a checkpoint store keep their state in memory only."""


def random_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class RunSetup:
    """Everything a run needs besides its state, resolved by the Agent."""

    model: ModelCaller
    """Sends one request (by default over the agent's client; an activity on Temporal)."""
    plan: RequestPlan
    tools: Mapping[str, FunctionTool]
    output: OutputSpec
    instructions: Callable[[RunContext[Any]], Awaitable[str | None]]
    deps: Any
    max_turns: int
    output_retries: int
    tool_concurrency: int
    approval: ApprovalPolicy | None = None
    tools_hash: str = ""
    """A hash of the agent's own tool definitions, kept in a paused state to check on resume."""
    containers: ContainerKeeper | None = None
    """Keeps the code interpreter's container across turns (None: no code interpreter)."""
    tool_runner: ToolRunner = run_tool
    checkpoint: Checkpoint = no_checkpoint
    store: Checkpoints | None = None
    """The checkpoint store `checkpoint` saves to: an agent used as a tool keeps its sub-run
    there too (None: no store)."""
    new_id: Callable[[], str] = random_id
    """Makes the ids a run stops with (deterministic ones inside a Temporal workflow)."""
    open_conversation: Callable[[], Awaitable[str]] | None = None
    """Creates a service-side Conversation (`chaining="conversation"`); its id."""
    agent: str = "agent"
    """The name of the agent this setup runs (handoffs switch to another agent's setup)."""
    guardrails: Guardrails = NONE
    observer: Observer = NO_OBSERVER
    """The run's spans and hooks (shared by the setups of every agent of the run)."""
    handoffs: Mapping[str, Handoff] = field(default_factory=dict)
    """This agent's handoffs, by transfer tool name."""
    team: Team | None = None
    """The agents this run may be handed to (None: no handoffs)."""


async def iterate(setup: RunSetup, state: RunState) -> AsyncIterator[RunEvent | StepEnd]:
    """Run until the model answers without tool calls; yields events, ends with FinalResult.

    A stopped `state` (claimed for resuming) first settles what it stopped in: approvals, a
    turn's unfinished tool calls, a background model call in flight. A run whose approvals
    are not all decided ends with a paused result instead of an answer. Failures raise a
    `RunError` whose state is `failed` (cancellation: `cancelled`) and resumable.
    """
    async with setup.observer.running(setup.agent, setup.plan.model, state) as seen:
        try:
            async for event in _steps(setup, state):
                if not isinstance(event, StepEnd):
                    await seen(event)
                yield event
        except asyncio.CancelledError:
            await asyncio.shield(_stop(setup, state, "cancelled"))
            raise
        except (RunError, ToolError) as error:
            error.state = state
            await _stop(setup, state, "cancelled" if isinstance(error, RunCancelled) else "failed")
            raise


async def _stop(setup: RunSetup, state: RunState, status: Status) -> None:
    if state.in_flight is not None and state.in_flight.ended:
        state.in_flight = None  # failed or cancelled on the service: nothing to reattach to
    state.stop(status, setup.new_id())
    if state.approvals:  # resumed only with the tools its approvals are asked for
        state.tools_hash = setup.tools_hash
    await setup.checkpoint(state)


async def _steps(setup: RunSetup, state: RunState) -> AsyncIterator[RunEvent | StepEnd]:
    if state.status in ("failed", "cancelled"):  # a claimed copy; a paused one runs once settled
        state.status = "running"
    if state.approvals or state.mid_turn:
        setup, _ = await switch(setup, state)
        async for step in _resume(setup, state):
            yield step
        if state.paused:
            return
    while True:
        setup, handed = await switch(setup, state)
        if handed is not None:
            yield handed
        if state.turn >= setup.max_turns:
            raise MaxTurnsExceeded(
                f"The run reached max_turns={setup.max_turns} without a final answer.",
                state=state,
            )
        ctx = _context(setup, state)
        body: dict[str, Any] | None = None
        checks = await check_input(setup, state, ctx)  # a task when some run alongside
        model_call = call_model(setup, state, await setup.instructions(ctx))
        async for event in model_call if checks is None else alongside(checks, state, model_call):
            if isinstance(event, Finished):
                body = event.body
            else:
                yield event
        assert body is not None
        output, used = _take(setup, state, body)
        await setup.checkpoint(state)
        yield ResponseCompleted(body["id"], used, state.turn)
        calls = function_calls(output)
        requests = await requests_in(output, calls, setup.tools, ctx)
        if calls or requests:
            state.approvals = [Pending(request) for request in requests]
            for request in requests:
                yield ApprovalRequested(request)
            yield (end := StepEnd("model", setup.agent, output))
            end.go_on()
            async for step in _settle(setup, state, ctx):
                yield step
            if state.paused:
                return
            continue
        yield (end := StepEnd("model", setup.agent, output))
        end.go_on()
        async for step in _finish(setup, state, output_text(output)):
            yield step
        if state.finished:
            return


async def _finish(setup: RunSetup, state: RunState, text: str) -> AsyncIterator[RunEvent]:
    """Parse the final answer; a bad one is sent back to fix (the state stays running)."""
    try:
        final = setup.output.parse(text)
    except (ValidationError, ValueError) as error:
        if state.output_retries >= setup.output_retries:
            raise OutputValidationError(
                f"The final answer did not match the output type: {error}", state=state
            ) from error
        await _send_back(setup, state, describe_failure(error))
        return
    correction = await check_output(setup, state, final)
    if correction is not None:
        await _send_back(setup, state, correction)
        return
    state.status = "finished"
    await setup.checkpoint(state)
    yield FinalResult(result(state, text, final))


async def _send_back(setup: RunSetup, state: RunState, message: str) -> None:
    """Send the final answer back to be fixed (the state stays running)."""
    state.output_retries += 1
    state.conversation.items.append(user_message(message))
    await setup.checkpoint(state)


def _take(setup: RunSetup, state: RunState, body: dict[str, Any]) -> tuple[list[Item], Usage]:
    """Add a response to the state: its output items, a turn, its usage; its output and usage."""
    output: list[Item] = body["output"]
    absorb(setup.plan, state.conversation, body["id"], output)
    state.turn += 1
    used = Usage()
    used.add(body.get("usage"))
    state.usage += used
    state.response_ids.append(body["id"])
    state.in_flight = None
    return output, used


def _context(setup: RunSetup, state: RunState) -> RunContext[Any]:
    return RunContext(
        setup.deps,
        turn=state.turn,
        model=setup.plan.model,
        run_id=state.run_id,
        _run=state,
        _store=setup.store,
    )


async def _resume(setup: RunSetup, state: RunState) -> AsyncIterator[RunEvent | StepEnd]:
    """Settle a stopped turn: re-ask approvals whose tool changed since, run what is left."""
    for name in revoke_changed(state.approvals, setup.tools):
        log.warning("Tool %r changed since its call was approved; asking again.", name)
    for entry in state.approvals:
        if entry.decision is not None:
            yield ApprovalDecided(entry.request, entry.decision)
    async for event in _settle(setup, state, _context(setup, state)):
        yield event


async def _settle(
    setup: RunSetup, state: RunState, ctx: RunContext[Any]
) -> AsyncIterator[RunEvent | StepEnd]:
    """Ask the policy about undecided approvals; pause if any stays undecided, else answer."""
    decided = await ask(setup.approval, state.approvals)
    for entry in decided:
        assert entry.decision is not None
        yield ApprovalDecided(entry.request, entry.decision)
    if state.pending_approvals:
        state.pause(setup.tools_hash, setup.new_id())
        await setup.checkpoint(state)
        log.info("Run %s paused for %d approvals.", state.run_id, len(state.pending_approvals))
        yield FinalResult(result(state, "", None))
        return
    state.status = "running"
    if decided:
        await setup.checkpoint(state)
    async for event in _answer(setup, state, ctx):
        yield event


async def _answer(
    setup: RunSetup, state: RunState, ctx: RunContext[Any]
) -> AsyncIterator[RunEvent | StepEnd]:
    """Run the turn's allowed calls and answer every call and approval request.

    Each output is checkpointed as its call finishes; calls a resumed run already has an
    output for do not run again.
    """
    own = [p for p in state.approvals if p.sub_run is None]  # not a sub-run's (agent tools)
    declined = {p.request.id: p.decision for p in own if not _approved(p)}
    calls = unanswered_calls(state.new_items)
    allowed = [
        call
        for call in calls
        if call["call_id"] not in declined and call["call_id"] not in state.tool_outputs
    ]
    for call in allowed:
        yield ToolCallStarted(call["call_id"], call["name"], call["arguments"])

    async def record(output: Item) -> None:
        state.tool_outputs[output["call_id"]] = output
        await setup.checkpoint(state)

    outputs = await run_calls(
        allowed,
        setup.tools,
        ctx,
        setup.tool_concurrency,
        runner=setup.tool_runner,
        on_output=record,
    )
    paused = [output for output in outputs if isinstance(output, SubRunPaused)]
    if paused:  # an agent used as a tool waits for approvals: so does this run
        for request in hold(state, paused):
            yield ApprovalRequested(request)
        async for event in _settle(setup, state, ctx):
            yield event
        return
    state.conversation.items.extend(
        state.tool_outputs.get(call["call_id"]) or _declined(call, declined[call["call_id"]])
        for call in calls
    )
    state.conversation.items.extend(
        mcp_response(p.request.id, p.decision)
        for p in own
        if p.request.kind == "mcp" and p.decision is not None
    )
    state.approvals = []
    state.tool_outputs = {}
    state.sub_runs = {}
    await setup.checkpoint(state)
    for call, output in zip(allowed, outputs, strict=True):
        assert not isinstance(output, SubRunPaused)
        yield ToolResult(call["call_id"], call["name"], tool_output_text(output["output"]))
    yield (end := StepEnd("tools", setup.agent))
    end.go_on()


def _approved(entry: Pending) -> bool:
    return entry.decision is not None and entry.decision.approved


def _declined(call: Item, decision: Decision | None) -> Item:
    reason = decision.reason if decision is not None else None
    return function_output(call["call_id"], declined_output(call["name"], reason))


def result(state: RunState, text: str, final: Any) -> RunResult[Any]:
    """The run's result as it stands (paused: no final output)."""
    return RunResult(
        output_text=text,
        new_items=state.new_items,
        response_ids=list(state.response_ids),
        usage=state.usage,
        conversation=state.conversation,
        state=state,
        pending_approvals=state.pending_approvals,
        agent=state.agent,
        _output=final,
    )
