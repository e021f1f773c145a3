"""Typed events of a streamed run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic

from typing_extensions import TypeVar

from agentkit.model.usage import Usage
from agentkit.run.result import RunResult

if TYPE_CHECKING:
    from agentkit.run.approvals import ApprovalRequest, Decision

OutputT = TypeVar("OutputT", default=Any)


@dataclass(frozen=True)
class TextDelta:
    """A piece of the assistant's answer text."""

    delta: str
    response_id: str


@dataclass(frozen=True)
class ReasoningSummaryDelta:
    """A piece of a reasoning model's summary of its thinking."""

    delta: str
    response_id: str


@dataclass(frozen=True)
class ToolCallStarted:
    """The model called a tool; it is about to run."""

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolResult:
    """A tool finished; `output` is what the model will read."""

    call_id: str
    name: str
    output: str


@dataclass(frozen=True)
class ApprovalRequested:
    """A call needs the user's approval; the policy is asked next (or the run pauses)."""

    request: ApprovalRequest


@dataclass(frozen=True)
class ApprovalDecided:
    """An approval request was decided (by the policy, or on the state before resuming)."""

    request: ApprovalRequest
    decision: Decision


@dataclass(frozen=True)
class BackgroundStatus:
    """A background model call's response changed status (`queued`, `in_progress`)."""

    response_id: str
    status: str


@dataclass(frozen=True)
class HostedToolProgress:
    """A tool the service runs made progress: a code interpreter cell started or finished,
    an MCP call or listing, an image being generated, a search.

    Attributes:
        tool: The output item's type, e.g. "code_interpreter_call", "mcp_call".
        status: The event's last word: "in_progress", "interpreting", "generating",
            "searching", "completed", "failed".
        item_id: The output item the progress is about.
    """

    response_id: str
    tool: str
    status: str
    item_id: str


@dataclass(frozen=True)
class PartialImage:
    """A partial picture from the image generation tool, before the final one."""

    response_id: str
    item_id: str
    index: int
    b64_json: str


@dataclass(frozen=True)
class ResponseCompleted:
    """One model call finished; `usage` is that call's alone (the run's total is on the result)."""

    response_id: str
    usage: Usage
    turn: int


@dataclass(frozen=True)
class HandedOff:
    """The conversation was handed to another agent, which answers from now on."""

    from_agent: str
    to_agent: str
    call_id: str
    """The transfer tool call that asked for it."""


@dataclass(frozen=True)
class FinalResult(Generic[OutputT]):
    """The run finished (or paused); the last event of a stream."""

    result: RunResult[OutputT]


RunEvent = (
    TextDelta
    | ReasoningSummaryDelta
    | BackgroundStatus
    | HostedToolProgress
    | PartialImage
    | ToolCallStarted
    | ToolResult
    | ApprovalRequested
    | ApprovalDecided
    | ResponseCompleted
    | HandedOff
    | FinalResult[OutputT]
)
"""What `Agent.stream` yields: `RunEvent[Out]` for an `Agent[Deps, Out]`."""
