"""Approvals: one model for hosted MCP approval requests and function tools that need approval.

Every call that needs a person's approval becomes an `ApprovalRequest`. The agent's
`approval` policy decides it (`approve()` / `reject(reason)`), or leaves it undecided
(`None`); with no policy, or any request undecided, the run pauses: its `RunState` holds the
requests, is approved or rejected request by request, and resumes later, anywhere.

A decision reaches the model as an `mcp_approval_response` item (hosted MCP) or, for a
function call, by running it or by a `function_call_output` saying the user declined.
"""

from __future__ import annotations

import inspect
import json
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from agentkit.context import RunContext
from agentkit.errors import UserError
from agentkit.run.conversation import Item
from agentkit.tools import FunctionTool

ApprovalKind = Literal["mcp", "function"]


@dataclass(frozen=True)
class ApprovalRequest:
    """A tool call waiting for the user's approval.

    Attributes:
        id: What to approve or reject by: the `mcp_approval_request` id (hosted MCP) or the
            function call's `call_id`.
        kind: "mcp" for a hosted MCP server's call (the service runs it once approved);
            "function" for a function tool (agentkit runs it), including client-side MCP tools.
        tool: The tool's name (for hosted MCP, its name on the server).
        arguments: The arguments the model sent, parsed (`{}` when they are not a JSON object).
        raw_arguments: The arguments exactly as the model sent them.
        server_label: The MCP server's label (hosted) or name (client-side); None otherwise.
    """

    id: str
    kind: ApprovalKind
    tool: str
    arguments: dict[str, Any]
    raw_arguments: str
    server_label: str | None = None
    definition_hash: str | None = None
    """The tool's definition when asked (function tools): an approval is void if it changes."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "tool": self.tool,
            "raw_arguments": self.raw_arguments,
            "server_label": self.server_label,
            "definition_hash": self.definition_hash,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApprovalRequest:
        kind = data["kind"]
        if kind not in ("mcp", "function"):
            raise UserError(f"RunState: unknown approval kind {kind!r}")
        raw = str(data["raw_arguments"])
        label, digest = data.get("server_label"), data.get("definition_hash")
        return cls(
            id=str(data["id"]),
            kind=kind,
            tool=str(data["tool"]),
            arguments=parse_arguments(raw),
            raw_arguments=raw,
            server_label=None if label is None else str(label),
            definition_hash=None if digest is None else str(digest),
        )


@dataclass(frozen=True)
class Decision:
    """The user's answer to an `ApprovalRequest`; make one with `approve()` or `reject()`."""

    approved: bool
    reason: str | None = None


def approve() -> Decision:
    """Let the call run."""
    return Decision(True)


def reject(reason: str | None = None) -> Decision:
    """Refuse the call; the model is told the user declined (and `reason`, if given)."""
    return Decision(False, reason)


ApprovalPolicy: TypeAlias = Callable[
    [ApprovalRequest], Decision | Awaitable[Decision | None] | None
]
"""Decides approval requests as they come: `approve()`, `reject(reason)`, or None to pause."""


@dataclass
class Pending:
    """An approval request of a paused turn and the decision taken on it so far."""

    request: ApprovalRequest
    decision: Decision | None = None
    sub_run: str | None = None
    """The tool call whose sub-run (an agent used as a tool) asks this; None: the run's own."""

    def to_dict(self) -> dict[str, Any]:
        decision = self.decision
        return {
            "request": self.request.to_dict(),
            "decision": None
            if decision is None
            else {"approved": decision.approved, "reason": decision.reason},
            "sub_run": self.sub_run,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pending:
        raw = data.get("decision")
        decision = None
        if raw is not None:
            reason = raw.get("reason")
            decision = Decision(bool(raw["approved"]), None if reason is None else str(reason))
        sub_run = data.get("sub_run")
        return cls(
            ApprovalRequest.from_dict(data["request"]),
            decision,
            None if sub_run is None else str(sub_run),
        )


# --- finding and deciding requests -------------------------------------------------------------


async def requests_in(
    output: list[Item],
    calls: list[Item],
    tools: Mapping[str, FunctionTool],
    ctx: RunContext[Any],
) -> list[ApprovalRequest]:
    """The approval requests of one response: hosted MCP requests, then function calls."""
    found = [
        ApprovalRequest(
            id=item["id"],
            kind="mcp",
            tool=item.get("name", ""),
            arguments=parse_arguments(item.get("arguments", "")),
            raw_arguments=item.get("arguments", ""),
            server_label=item.get("server_label"),
        )
        for item in output
        if item.get("type") == "mcp_approval_request"
    ]
    for call in calls:
        tool = tools.get(call["name"])
        if tool is None or not await tool.approval_required(ctx, call["arguments"]):
            continue
        found.append(
            ApprovalRequest(
                id=call["call_id"],
                kind="function",
                tool=call["name"],
                arguments=parse_arguments(call["arguments"]),
                raw_arguments=call["arguments"],
                server_label=getattr(tool, "server", None),
                definition_hash=tool.definition_hash(),
            )
        )
    return found


async def ask(policy: ApprovalPolicy | None, pending: list[Pending]) -> list[Pending]:
    """Ask `policy` about each undecided request, one at a time; the newly decided ones."""
    decided: list[Pending] = []
    if policy is None:
        return decided
    for entry in pending:
        if entry.decision is not None:
            continue
        answer = policy(entry.request)
        if inspect.isawaitable(answer):
            answer = await answer
        if answer is None:
            continue
        if not isinstance(answer, Decision):
            raise UserError(
                f"The approval policy returned {answer!r} for {entry.request.tool!r}; "
                "return approve(), reject(reason) or None (decide later)."
            )
        entry.decision = answer
        decided.append(entry)
    return decided


def revoke_changed(pending: list[Pending], tools: Mapping[str, FunctionTool]) -> list[str]:
    """Void approvals of function tools whose definition changed since; their names."""
    changed = []
    for entry in pending:
        request = entry.request
        if entry.decision is None or not entry.decision.approved or request.kind != "function":
            continue
        if entry.sub_run is not None:  # the sub-run checks its own tools when it resumes
            continue
        tool = tools.get(request.tool)
        if tool is None or tool.definition_hash() != request.definition_hash:
            entry.decision = None
            changed.append(request.tool)
    return changed


# --- answering ---------------------------------------------------------------------------------


def unanswered_calls(items: list[Item]) -> list[Item]:
    """The function calls in `items` that have no output yet, in order."""
    answered = {i["call_id"] for i in items if i.get("type") == "function_call_output"}
    return [i for i in items if i.get("type") == "function_call" and i["call_id"] not in answered]


def mcp_response(request_id: str, decision: Decision) -> Item:
    """The `mcp_approval_response` item that answers a hosted MCP approval request."""
    item: Item = {
        "type": "mcp_approval_response",
        "approval_request_id": request_id,
        "approve": decision.approved,
    }
    if decision.reason:
        item["reason"] = decision.reason
    return item


def declined_output(tool: str, reason: str | None) -> str:
    """What the model reads for a function call the user rejected."""
    because = f" Their reason: {reason}" if reason else ""
    return f"The user declined to run {tool}; it was not called.{because}"


def parse_arguments(raw: str) -> dict[str, Any]:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# --- resuming once -----------------------------------------------------------------------------

_RESUMED_LIMIT = 100_000
_resumed: OrderedDict[str, None] = OrderedDict()
_resumed_lock = threading.Lock()


def release_pause(pause_id: str) -> None:
    """Forget a claim: the resume failed before anything ran, so the pause may be resumed."""
    with _resumed_lock:
        _resumed.pop(pause_id, None)


def claim_pause(pause_id: str) -> bool:
    """Record that the pause `pause_id` is being resumed; False if this process already did."""
    with _resumed_lock:
        if pause_id in _resumed:
            return False
        _resumed[pause_id] = None
        if len(_resumed) > _RESUMED_LIMIT:
            _resumed.popitem(last=False)
        return True
