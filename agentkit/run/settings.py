"""Model settings: the request fields an agent sends with every model call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ToolChoice = Literal["auto", "required", "none"] | str


@dataclass(frozen=True, kw_only=True)
class ModelSettings:
    """Sampling and tool-use settings; `None` leaves the service's default.

    Args:
        tool_choice: "auto", "required", "none", or a tool name to force.
        extra_body: Any other request field, sent as given (it wins over the fields above).
        extra_headers: HTTP headers for each model call; secret (not in run state nor `repr`).
    """

    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    reasoning_summary: Literal["auto", "concise", "detailed"] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    truncation: Literal["auto", "disabled"] | None = None
    metadata: dict[str, str] | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)
    extra_headers: dict[str, str] = field(default_factory=dict, repr=False)  # may hold keys

    def body_fields(self) -> dict[str, Any]:
        """The request fields these settings set."""
        body: dict[str, Any] = {}
        for name in ("temperature", "top_p", "max_output_tokens", "parallel_tool_calls",
                     "truncation", "metadata"):  # fmt: skip
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        reasoning = {
            key: value
            for key, value in (
                ("effort", self.reasoning_effort),
                ("summary", self.reasoning_summary),
            )
            if value is not None
        }
        if reasoning:
            body["reasoning"] = reasoning
        if self.tool_choice is not None:
            body["tool_choice"] = _tool_choice(self.tool_choice)
        body.update(self.extra_body)
        return body


def _tool_choice(choice: str) -> str | dict[str, str]:
    if choice in ("auto", "required", "none"):
        return choice
    return {"type": "function", "name": choice}
