"""How a run's events look in a terminal (rich): streamed text, tool calls and results as they
happen, reasoning summaries dimmed, a spinner while background work or a tool runs."""

from __future__ import annotations

from typing import Any, Literal

from rich.console import Console
from rich.status import Status
from rich.text import Text

from agentkit.run.approvals import ApprovalRequest
from agentkit.run.events import (
    ApprovalDecided,
    ApprovalRequested,
    BackgroundStatus,
    FinalResult,
    HostedToolProgress,
    PartialImage,
    ReasoningSummaryDelta,
    ResponseCompleted,
    RunEvent,
    TextDelta,
    ToolCallStarted,
    ToolResult,
)

__all__ = ["EventView", "call_text"]

SHOWN_OUTPUT = 300
"""Characters of a tool's output shown; the model sees all of it."""
ENDED = ("completed", "failed", "incomplete", "cancelled")

Flow = Literal["idle", "text", "reasoning"]


class EventView:
    """Prints events as they come; one per run turn sequence (call `end()` when done)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._flow: Flow = "idle"
        self._status: Status | None = None

    def show(self, event: RunEvent) -> None:
        if isinstance(event, TextDelta):
            self._stream("text", event.delta, "assistant> ", "bold blue", "")
        elif isinstance(event, ReasoningSummaryDelta):
            self._stream("reasoning", event.delta, "thinking: ", "dim italic", "dim italic")
        elif isinstance(event, ToolCallStarted):
            self._line(Text(f"→ {call_text(event.name, event.arguments)}", style="cyan"))
            self._spin(f"running {event.name}…")
        elif isinstance(event, ToolResult):
            self._line(Text(f"← {event.name}: {_short(event.output)}", style="green"))
        elif isinstance(event, ApprovalRequested):
            self._line(Text(f"? {describe(event.request)} needs approval", style="yellow"))
        elif isinstance(event, ApprovalDecided):
            verdict = "approved" if event.decision.approved else "rejected"
            self._line(Text(f"  {verdict}: {event.request.tool}", style="yellow"))
        elif isinstance(event, BackgroundStatus):
            self._spin(f"background response {event.status}…")
        elif isinstance(event, HostedToolProgress):
            self._hosted(event)
        elif isinstance(event, PartialImage | ResponseCompleted | FinalResult):
            self._stop_spinner()

    def end(self) -> None:
        """Finish the current line and stop the spinner (a turn is over, or was interrupted)."""
        self._stop_spinner()
        self._newline()

    def _stream(self, flow: Flow, delta: str, label: str, label_style: str, style: str) -> None:
        self._stop_spinner()
        if self._flow != flow:
            self._newline()
            self.console.print(Text(label, style=label_style), end="")
            self._flow = flow
        self.console.print(Text(delta, style=style), end="", soft_wrap=True)

    def _hosted(self, event: HostedToolProgress) -> None:
        if event.status in ENDED:
            self._line(Text(f"· {event.tool} {event.status}", style="magenta"))
        else:
            self._spin(f"{event.tool} {event.status}…")

    def _line(self, text: Text) -> None:
        self._stop_spinner()
        self._newline()
        self.console.print(text, soft_wrap=True)

    def _newline(self) -> None:
        if self._flow != "idle":
            self.console.print()
            self._flow = "idle"

    def _spin(self, message: str) -> None:
        self._newline()
        if self._status is None:
            self._status = self.console.status(message, spinner="dots")
            self._status.start()
        else:
            self._status.update(message)

    def _stop_spinner(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def describe(request: ApprovalRequest) -> str:
    server = f"{request.server_label}." if request.server_label else ""
    return server + call_text(request.tool, request.raw_arguments)


def call_text(name: str, arguments: str) -> str:
    return f"{name}({_short(arguments)})"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_OUTPUT else text[: SHOWN_OUTPUT - 1] + "…"
