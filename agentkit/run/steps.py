"""A run stepped node by node (`Agent.iter`): the same steps `run()` and `stream()` drain.

The loop marks the end of each step (`StepEnd`) at a point where its state is consistent and
checkpointed; `AgentRun` groups the events between two marks into a node. Between nodes
nothing is in flight, so the caller may look at the run and stop it there: the run ends
`cancelled`, checkpointed, and `agent.resume(state)` continues it from that step.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, Literal

from typing_extensions import TypeVar

from agentkit.errors import RunCancelled
from agentkit.model.usage import Usage
from agentkit.run.approvals import ApprovalRequest
from agentkit.run.conversation import Item
from agentkit.run.events import (
    ApprovalDecided,
    ApprovalRequested,
    FinalResult,
    ResponseCompleted,
    RunEvent,
    ToolResult,
)
from agentkit.run.handle import StateBox
from agentkit.run.result import RunResult
from agentkit.run.state import RunState

OutputT = TypeVar("OutputT", default=Any)


@dataclass
class StepEnd:
    """Where a step of the loop ends (not shown to `stream()`'s callers). The caller may set
    `stop` before the loop goes on; the loop then stops there (`go_on` raises)."""

    kind: Literal["model", "tools"]
    agent: str
    output: list[Item] = field(default_factory=list)
    """The model's output items (for a `model` step)."""
    stop: bool = False

    def go_on(self) -> None:
        """Raise `RunCancelled` if the caller stopped the run here (the loop adds the state)."""
        if self.stop:
            raise RunCancelled("The run was stopped between steps.", state=None)


@dataclass(frozen=True)
class ModelResponse:
    """The model answered one call. Its function calls have not run yet: they run in the next
    step, after approvals are decided (stopping here leaves them unrun, to run on resume).

    Attributes:
        agent: The agent that made the call (after a handoff, the one handed to).
        output: The response's output items (messages, reasoning, calls).
        approvals: The calls that wait for an approval (asked next, or the run pauses).
        events: Everything streamed since the last node, `ResponseCompleted` among them.
    """

    agent: str
    response_id: str
    turn: int
    usage: Usage
    output: list[Item]
    approvals: list[ApprovalRequest]
    events: list[RunEvent]

    @property
    def tool_calls(self) -> list[Item]:
        """The function calls the model asked for."""
        return [item for item in self.output if item.get("type") == "function_call"]

    @property
    def final(self) -> bool:
        """Whether this is an answer (no calls, no approvals): the run ends next, unless the
        answer fails `output_type` or a guardrail and is sent back. Stopping here drops it: a
        resumed run asks the model again."""
        return not self.tool_calls and not self.approvals


@dataclass(frozen=True)
class ToolsRan:
    """The turn's tool calls ran and every call and approval request has its answer.

    Attributes:
        results: What each call that ran returned (declined calls get a refusal instead).
        decisions: The approval decisions taken in this step.
        events: Everything streamed since the last node.
    """

    agent: str
    results: list[ToolResult]
    decisions: list[ApprovalDecided]
    events: list[RunEvent]


@dataclass(frozen=True)
class End(Generic[OutputT]):
    """The run finished, or paused for approvals (`result.paused`): the last node."""

    result: RunResult[OutputT]
    events: list[RunEvent[OutputT]]


RunNode = ModelResponse | ToolsRan | End[OutputT]
"""What `async for node in agent.iter(...)` gives: `RunNode[Out]` for an `Agent[Deps, Out]`."""


class AgentRun(Generic[OutputT]):
    """`async with agent.iter(input) as run:` — a run that goes one step per `next()`.

    `async for node in run` (or `await run.next()`) gives a `ModelResponse`, a `ToolsRan`, ...
    and last an `End`; `run.result` is then the `RunResult`. Between nodes, `await
    run.stop()` ends the run resumably; leaving the block early stops it the same way.
    """

    def __init__(
        self, events: AsyncGenerator[RunEvent[OutputT] | StepEnd, None], box: StateBox
    ) -> None:
        self._events = events
        self._box = box
        self._started = False
        self._done = False
        self._at: StepEnd | None = None
        self.result: RunResult[OutputT] | None = None
        """The run's result, once the `End` node was reached."""

    @property
    def state(self) -> RunState | None:
        """The run's state as it is now (None before the first step)."""
        return self._box.state

    async def next(self) -> RunNode[OutputT]:
        """Run the next step; its node. `StopAsyncIteration` after the `End` node."""
        if self._done:
            raise StopAsyncIteration
        self._started = True
        seen: list[RunEvent[OutputT]] = []
        try:
            async for event in self._events:
                if isinstance(event, StepEnd):
                    self._at = event
                    return _node(event, seen)
                seen.append(event)
                if isinstance(event, FinalResult):
                    self._done = True
                    self.result = event.result
                    return End(event.result, seen)
        except BaseException:
            self._done = True  # the run failed: its error carries the state
            raise
        self._done = True
        raise StopAsyncIteration

    async def stop(self) -> RunState | None:
        """End the run here, between steps: its state (status `cancelled`, checkpointed) is
        what `agent.resume` continues. A finished run, or one not begun, stays as it is."""
        at, self._at = self._at, None
        if not self._done and at is not None:
            at.stop = True
            with contextlib.suppress(RunCancelled):  # the loop stops at `at`, saying so
                await anext(self._events)
        self._done = True
        await self._events.aclose()
        return self.state

    def __aiter__(self) -> AgentRun[OutputT]:
        return self

    async def __anext__(self) -> RunNode[OutputT]:
        return await self.next()

    async def __aenter__(self) -> AgentRun[OutputT]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _node(end: StepEnd, events: list[RunEvent[Any]]) -> ModelResponse | ToolsRan:
    if end.kind == "model":
        completed = next(e for e in reversed(events) if isinstance(e, ResponseCompleted))
        return ModelResponse(
            agent=end.agent,
            response_id=completed.response_id,
            turn=completed.turn,
            usage=completed.usage,
            output=end.output,
            approvals=[e.request for e in events if isinstance(e, ApprovalRequested)],
            events=events,
        )
    return ToolsRan(
        agent=end.agent,
        results=[e for e in events if isinstance(e, ToolResult)],
        decisions=[e for e in events if isinstance(e, ApprovalDecided)],
        events=events,
    )
