"""AgentWorkflow: one long-lived workflow per conversation, one update per user message.

The workflow keeps the `Conversation`; each `turn` update runs the agent once on it (model and
tool calls as activities) and answers with the run's output, or with the approval requests
it paused for. A paused run waits in the workflow's state — for days if need be; no worker
holds it in memory — until `decide` updates answer every request, from any process (a web
app's stateless HTTP handler); the last decision resumes the run and answers with its
outcome. Updates that would change nothing are refused by validators, before they are
written to history. The workflow continues as new when Temporal suggests it (or every
`turns_per_run` turns), carrying the conversation, never while a run is paused.

It runs outside Temporal's sandbox: everything it runs is agentkit's own deterministic code or
the registered agents' (which live outside the sandbox anyway), so the sandbox would protect
nothing and cost a fresh module import per workflow run.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from agentkit.errors import ConfigurationError, RunError, ToolError
from agentkit.model.usage import Usage
from agentkit.run.approvals import ApprovalRequest
from agentkit.run.conversation import Conversation, Item
from agentkit.run.result import RunResult
from agentkit.run.state import RunState
from agentkit.temporal.agent import TemporalAgent

_agents: dict[str, TemporalAgent[Any]] = {}


def register(agents: Iterable[TemporalAgent[Any]]) -> None:
    """Make agents known to `AgentWorkflow` by name (`AgentkitPlugin` does it)."""
    for agent in agents:
        known = _agents.setdefault(agent.name, agent)
        if known is not agent and known.agent is not agent.agent:
            raise ConfigurationError(f"two different agents are registered as {agent.name!r}")


@dataclass
class AgentWorkflowInput:
    """How a conversation's workflow starts (and continues as new).

    Args:
        agent: The name of a `TemporalAgent` registered with the workers' `AgentkitPlugin`.
        conversation: The conversation so far (None: a new one).
        context: The context every run gets (JSON; typed by the agent's `deps_type`).
        max_turns: Model calls allowed per message (the agent's `max_turns` when None).
        turns_per_run: Continue as new after this many answered messages (None: when
            Temporal suggests it, as the history grows).
    """

    agent: str
    conversation: Conversation | None = None
    context: Any = None
    max_turns: int | None = None
    turns_per_run: int | None = None


@dataclass
class Turn:
    """A user message: text, or Responses API input items."""

    input: str | list[Item]


@dataclass
class ApprovalDecision:
    """Approve or reject one pending approval request of the conversation's paused run."""

    approval_id: str
    approve: bool
    reason: str | None = None


@dataclass
class TurnResult:
    """A message's outcome: the answer, or the approvals the run waits for."""

    status: Literal["answered", "paused"]
    output: Any = None
    """The final output (as JSON when it crossed to a client)."""
    output_text: str = ""
    pending_approvals: list[ApprovalRequest] = field(default_factory=list)
    response_ids: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)


@workflow.defn(name="agentkit.AgentWorkflow", sandboxed=False)
class AgentWorkflow:
    """A conversation with one agent: `turn` per message, `decide` per approval, `end` to stop."""

    @workflow.init
    def __init__(self, start: AgentWorkflowInput) -> None:
        agent = _agents.get(start.agent)
        if agent is None:
            raise ApplicationError(
                f"No agent named {start.agent!r} is registered on this worker (known: "
                f"{', '.join(sorted(_agents)) or 'none'}); pass it to AgentkitPlugin(agents=...).",
                non_retryable=True,
            )
        self.agent = agent
        self.start = start
        self.context = agent.typed_context(start.context)
        self._conversation = start.conversation or Conversation()
        self.paused: RunState | None = None
        self.running = False
        self.answered = 0
        self.ended = False

    @workflow.run
    async def run(self, start: AgentWorkflowInput) -> Conversation:
        """Wait for messages until `end`; continue as new when the history has grown."""
        while True:
            await workflow.wait_condition(lambda: self.ended or self._due())
            await workflow.wait_condition(workflow.all_handlers_finished)
            if self.ended:
                return self._conversation
            if self._due():
                workflow.continue_as_new(replace(self.start, conversation=self._conversation))

    def _due(self) -> bool:
        """Whether to continue as new now: idle, nothing paused, and the history long."""
        if self.running or self.paused is not None:
            return False
        limit = self.start.turns_per_run
        return (limit is not None and self.answered >= limit) or (
            workflow.info().is_continue_as_new_suggested()
        )

    @workflow.update
    async def turn(self, turn: Turn) -> TurnResult:
        """Run the agent on one user message."""
        return await self._answer(
            self.agent.run(
                turn.input,
                conversation=self._conversation,
                context=self.context,
                max_turns=self.start.max_turns,
            )
        )

    @turn.validator
    def _check_turn(self, turn: Turn) -> None:
        if self.ended:
            raise ApplicationError("The conversation has ended.")
        if self.running:
            raise ApplicationError("The previous message is still being answered; send later.")
        if self.paused is not None:
            ids = ", ".join(r.id for r in self.paused.pending_approvals)
            raise ApplicationError(f"The conversation waits for approvals first: {ids}.")
        if not turn.input:
            raise ApplicationError("The message is empty.")

    @workflow.update
    async def decide(self, decision: ApprovalDecision) -> TurnResult:
        """Decide one approval request; the last one resumes the run (answers its outcome)."""
        state = self.paused
        assert state is not None  # the validator saw to it
        if decision.approve:
            state.approve(decision.approval_id)
        else:
            state.reject(decision.approval_id, decision.reason)
        if state.pending_approvals:
            return TurnResult("paused", pending_approvals=state.pending_approvals)
        self.paused = None
        return await self._answer(
            self.agent.resume(state, context=self.context, max_turns=self.start.max_turns)
        )

    @decide.validator
    def _check_decision(self, decision: ApprovalDecision) -> None:
        if self.paused is None:
            raise ApplicationError("No run of this conversation waits for approvals.")
        found = {p.request.id: p.decision for p in self.paused.approvals}
        if decision.approval_id not in found:
            raise ApplicationError(
                f"No approval request {decision.approval_id!r} is pending (pending: "
                f"{', '.join(r.id for r in self.paused.pending_approvals)})."
            )
        if found[decision.approval_id] is not None:
            raise ApplicationError(f"Approval request {decision.approval_id!r} is decided.")

    @workflow.query
    def pending_approvals(self) -> list[ApprovalRequest]:
        """The approval requests the paused run waits for ([] when none)."""
        return [] if self.paused is None else self.paused.pending_approvals

    @workflow.query
    def conversation(self) -> Conversation:
        """The conversation as of the last answered message."""
        return self._conversation

    @workflow.signal
    def end(self) -> None:
        """End the conversation: the workflow returns it once running updates finish."""
        self.ended = True

    async def _answer(self, run: Coroutine[Any, Any, RunResult[Any]]) -> TurnResult:
        """Run (one at a time); a failed run fails the update with its state."""
        self.running = True  # before the first await: the next update's validator sees it
        try:
            result = await run
        except (RunError, ToolError) as error:
            raise _failed(error) from None
        finally:
            self.running = False
        return self._settled(result)

    def _settled(self, result: RunResult[Any]) -> TurnResult:
        if result.paused:
            self.paused = result.state
            return TurnResult(
                "paused",
                pending_approvals=result.pending_approvals,
                response_ids=result.response_ids,
                usage=result.usage,
            )
        self._conversation = result.conversation
        self.answered += 1
        return TurnResult(
            "answered",
            output=result.output,
            output_text=result.output_text,
            response_ids=result.response_ids,
            usage=result.usage,
        )


def _failed(error: RunError | ToolError) -> ApplicationError:
    """The update's failure: the error's type and message, and the run's state to inspect."""
    state = error.state.to_dict() if isinstance(error.state, RunState) else None
    return ApplicationError(
        str(error), {"state": state}, type=type(error).__name__, non_retryable=True
    )


__all__ = [
    "AgentWorkflow",
    "AgentWorkflowInput",
    "ApprovalDecision",
    "Turn",
    "TurnResult",
    "register",
]
