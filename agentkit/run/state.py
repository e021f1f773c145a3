"""RunState: everything a run knows, as data that round-trips through JSON."""

from __future__ import annotations

import json
import logging
import uuid
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

from agentkit.errors import ResumeError, UserError
from agentkit.model.call import Attachment
from agentkit.model.usage import Usage
from agentkit.run.approvals import (
    ApprovalRequest,
    Decision,
    Pending,
    abandoned_answers,
    claim_pause,
    reject,
    release_pause,
    unanswered_calls,
)
from agentkit.run.conversation import Conversation, Item
from agentkit.run.versioned import versioned

log = logging.getLogger("agentkit")


class AbandonedApprovalsWarning(UserWarning):
    """A new message was sent to a conversation whose paused run had undecided calls: they
    were declined so the conversation can go on."""


RUN_STATE_FORMAT = 3
"""Format 3 added the in-flight background response, the turn's finished tool outputs, the
`failed`/`cancelled` statuses, the answering agent, paused sub-runs and the trace to link to;
format 2 added approvals and `status`. All are still read."""
READABLE_FORMATS = (1, 2, 3)
Status = Literal["running", "paused", "resumed", "finished", "failed", "cancelled"]
STATUSES = ("running", "paused", "resumed", "finished", "failed", "cancelled")
RESUMABLE = ("paused", "failed", "cancelled")
"""What a `RunState` given to `Agent.resume` may be (a checkpointed `running` one too)."""


@versioned  # pydantic (a Temporal payload, say) writes it as `to_dict` does
@dataclass
class RunState:
    """A run in progress: the conversation, where this run's items start, and its counters.

    A paused run (`status == "paused"`) also holds the approval requests it waits for:
    decide them with `approve(id)` / `reject(id, reason)`, save `to_json()`, and resume with
    `agent.resume(RunState.from_json(saved))`. A run that stopped on an error (`failed`) or
    was cancelled resumes the same way, from the step it had reached.
    """

    conversation: Conversation
    start: int
    """Index in `conversation.items` of this run's first new item."""
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    turn: int = 0
    usage: Usage = field(default_factory=Usage)
    response_ids: list[str] = field(default_factory=list)
    output_retries: int = 0
    status: Status = "running"
    approvals: list[Pending] = field(default_factory=list)
    """The paused turn's approval requests and the decisions taken on them so far."""
    pause_id: str | None = None
    """Names one pause, so that it is resumed at most once."""
    tools_hash: str | None = None
    """A hash of the agent's tool definitions (without secrets) when the run paused."""
    in_flight: Attachment | None = None
    """The background response of the model call in flight, to reattach to after a crash."""
    tool_outputs: dict[str, Item] = field(default_factory=dict)
    """Outputs of this turn's calls that finished, by call id, until the turn's end."""
    agent: str | None = None
    """The name of the agent answering now (it changes at a handoff); it resumes the run."""
    sub_runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """This turn's paused sub-runs (agents used as tools), as states by their tool call's id."""
    input_checked: bool = False
    """Whether the input guardrails passed (they run once, before the first answer is used)."""
    trace: dict[str, str] | None = None
    """The trace and span id of this run's first span, for the spans of a resumed run to link."""

    @classmethod
    def begin(cls, conversation: Conversation | None, new_input: list[Item]) -> RunState:
        """A new run of `conversation` with `new_input`. Calls a paused run left undecided
        (the user sent a new message instead of resuming it) are declined first, with a
        reason the model reads, and a warning."""
        conversation = conversation.copy() if conversation is not None else Conversation()
        abandoned = abandoned_answers(conversation.items)
        if abandoned:
            message = (
                f"This conversation has {len(abandoned)} tool call(s) a paused run left "
                "undecided; they are declined, so the new message can follow. To decide them, "
                "resume the paused run's state instead (state.approve/reject, or reject_all)."
            )
            log.warning(message)
            warnings.warn(message, AbandonedApprovalsWarning, stacklevel=3)
            conversation.items.extend(abandoned)
        start = len(conversation.items)
        conversation.items.extend(new_input)
        return cls(conversation, start)

    @property
    def new_items(self) -> list[Item]:
        return self.conversation.items[self.start :]

    # --- approvals -----------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self.status == "paused"

    @property
    def finished(self) -> bool:
        return self.status == "finished"

    @property
    def pending_approvals(self) -> list[ApprovalRequest]:
        """The requests still waiting for a decision."""
        return [p.request for p in self.approvals if p.decision is None]

    def approve(self, approval_id: str) -> None:
        """Approve one request of this paused run (by `ApprovalRequest.id`)."""
        self._decide(approval_id, Decision(True))

    def reject(self, approval_id: str, reason: str | None = None) -> None:
        """Reject one request of this paused run; the model is told, with `reason`."""
        self._decide(approval_id, reject(reason))

    def reject_all(self, reason: str | None = None) -> None:
        """Abandon this pause: reject every request still undecided, telling the model `reason`
        (resume the run afterwards, e.g. to send a new message)."""
        for entry in self.approvals:
            if entry.decision is None:
                self._decide(entry.request.id, reject(reason))

    def _decide(self, approval_id: str, decision: Decision) -> None:
        if self.status == "resumed":
            raise ResumeError("This paused run was already resumed: decide on the resumed run.")
        if self.status != "paused":
            raise ResumeError(f"This run is {self.status}, not paused: nothing to approve.")
        for entry in self.approvals:
            if entry.request.id == approval_id:
                entry.decision = decision
                return
        known = ", ".join(p.request.id for p in self.approvals)
        raise UserError(f"This run has no approval request {approval_id!r} (it has: {known}).")

    def claim(self, tools_hash: str, *, guard: bool = True) -> RunState:
        """A copy of this stopped state to resume; this one is marked resumed.

        Raises `ResumeError` when it is not paused, failed or cancelled, was resumed already
        (by this object, or — with `guard` — in this process from the same JSON), or, with
        approvals decided, the agent's tools are not the ones it paused with. A Temporal
        workflow passes `guard=False`: it owns its run, and replaying it claims it again.
        """
        if self.status == "resumed":
            raise ResumeError("This run state was already resumed; a stopped run resumes once.")
        if self.status not in RESUMABLE:
            raise ResumeError(
                f"This run state is {self.status}, not paused, failed or cancelled: only a "
                "stopped run can be resumed."
            )
        if self.pause_id is None:
            raise ResumeError(
                f"This run state is {self.status} but has no pause_id: only a state a run "
                "stopped with can be resumed."
            )
        if self.approvals and self.tools_hash != tools_hash:
            raise ResumeError(
                "The agent's tools are not the ones this run paused with (a tool was added, "
                "removed or changed); refusing to resume, since the approvals were given for "
                "the old tools."
            )
        if guard and not claim_pause(self.pause_id):
            self.status = "resumed"
            raise ResumeError("This run state was already resumed; a stopped run resumes once.")
        copy = RunState.from_dict(self.to_dict())
        self.status = "resumed"
        return copy

    def unclaim(self, status: Status = "paused") -> None:
        """Undo `claim` after a resume that failed before running or sending anything."""
        if self.status == "resumed" and self.pause_id is not None:
            release_pause(self.pause_id)
            self.status = status

    def pause(self, tools_hash: str, stop_id: str | None = None) -> None:
        self.stop("paused", stop_id)
        self.tools_hash = tools_hash

    def stop(self, status: Status, stop_id: str | None = None) -> None:
        """End this run's stretch as `status`; a new stop id (`stop_id`, else a random one)
        lets it be resumed once."""
        self.status = status
        self.pause_id = stop_id or uuid.uuid4().hex

    @property
    def mid_turn(self) -> bool:
        """Whether the last model call's tool calls or approvals are not all answered yet."""
        return bool(self.approvals or self.tool_outputs or unanswered_calls(self.new_items))

    # --- JSON ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": RUN_STATE_FORMAT,
            "run_id": self.run_id,
            "status": self.status,
            "conversation": self.conversation.to_dict(),
            "start": self.start,
            "turn": self.turn,
            "usage": self.usage.to_dict(),
            "response_ids": self.response_ids,
            "output_retries": self.output_retries,
            "approvals": [p.to_dict() for p in self.approvals],
            "pause_id": self.pause_id,
            "tools_hash": self.tools_hash,
            "in_flight": None if self.in_flight is None else self.in_flight.to_dict(),
            "tool_outputs": self.tool_outputs,
            "agent": self.agent,
            "sub_runs": self.sub_runs,
            "input_checked": self.input_checked,
            "trace": self.trace,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        version = data.get("format")
        if version not in READABLE_FORMATS:
            raise ResumeError(
                f"RunState format {version!r} is not supported (this agentkit reads formats "
                f"{', '.join(map(str, READABLE_FORMATS))}); resume it with the agentkit "
                "version that saved it."
            )
        status = data.get("status", "running")
        if status not in STATUSES:
            raise UserError(f"RunState status {status!r} is not one of {', '.join(STATUSES)}.")
        try:
            return cls(
                conversation=Conversation.from_dict(data["conversation"]),
                start=int(data["start"]),
                run_id=str(data["run_id"]),
                turn=int(data["turn"]),
                usage=Usage.from_dict(data["usage"]),
                response_ids=[str(r) for r in data["response_ids"]],
                output_retries=int(data.get("output_retries", 0)),
                status=status,
                approvals=[Pending.from_dict(p) for p in data.get("approvals", [])],
                pause_id=_optional_str(data.get("pause_id")),
                tools_hash=_optional_str(data.get("tools_hash")),
                in_flight=_attachment(data.get("in_flight")),
                tool_outputs=_outputs(data.get("tool_outputs")),
                agent=_optional_str(data.get("agent")),
                sub_runs=_sub_runs(data.get("sub_runs")),
                input_checked=bool(data.get("input_checked", False)),
                trace=_trace(data.get("trace")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise UserError(f"RunState JSON is missing or has a bad field: {error!r}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> RunState:
        try:
            data = json.loads(text)
        except ValueError as error:
            raise UserError(f"RunState JSON could not be parsed: {error}") from None
        if not isinstance(data, dict):
            raise UserError("RunState JSON must be an object.")
        return cls.from_dict(data)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _attachment(value: Any) -> Attachment | None:
    return None if value is None else Attachment.from_dict(value)


def _outputs(value: Any) -> dict[str, Item]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise TypeError("tool_outputs must map call ids to output items")
    return {str(k): dict(v) for k, v in value.items()}


def _sub_runs(value: Any) -> dict[str, dict[str, Any]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise TypeError("sub_runs must map call ids to run states")
    return {str(k): dict(v) for k, v in value.items()}


def _trace(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError("trace must be an object")
    return {"trace_id": str(value["trace_id"]), "span_id": str(value["span_id"])}
