"""Sub-runs that pause: an agent used as a tool whose own run waits for approvals.

The tool raises `SubRunPaused`; the calling run keeps the sub-run's state in its own (by the
call's id) and its undecided requests as its own approvals, so one `RunState` holds the whole
pause. Decided there and resumed (in any process), the call runs again and the sub-run
continues from its state with those decisions.
"""

from __future__ import annotations

from agentkit.run.approvals import ApprovalRequest, Pending
from agentkit.run.state import RunState


class SubRunPaused(BaseException):
    """A tool's sub-run paused for approvals; `state` is the sub-run's paused `RunState`.

    Not an `Exception`: like a cancellation it must pass through the tool's own error handling
    (which turns exceptions into error outputs for the model) up to the run.
    """

    def __init__(self, call_id: str, state: RunState) -> None:
        super().__init__(f"The sub-run of tool call {call_id} paused for approvals.")
        self.call_id = call_id
        self.state = state


def hold(state: RunState, paused: list[SubRunPaused]) -> list[ApprovalRequest]:
    """Keep each paused sub-run in `state`, its undecided requests as `state`'s approvals."""
    calls = {p.call_id for p in paused}
    state.approvals = [p for p in state.approvals if p.sub_run not in calls]
    found: list[ApprovalRequest] = []
    for sub in paused:
        state.sub_runs[sub.call_id] = sub.state.to_dict()
        for request in sub.state.pending_approvals:
            state.approvals.append(Pending(request, sub_run=sub.call_id))
            found.append(request)
    return found


def paused_sub_run(state: RunState, call_id: str) -> RunState | None:
    """The paused sub-run of tool call `call_id`, with the decisions taken on `state` applied."""
    saved = state.sub_runs.get(call_id)
    if saved is None:
        return None
    sub = RunState.from_dict(saved)
    for entry in state.approvals:
        if entry.sub_run != call_id or entry.decision is None:
            continue
        if entry.decision.approved:
            sub.approve(entry.request.id)
        else:
            sub.reject(entry.request.id, entry.decision.reason)
    return sub
