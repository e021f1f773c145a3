"""Token usage summed over a run's model requests, JSON round-trippable for saved run state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from openai.types.responses import ResponseUsage

__all__ = ["Usage"]


@dataclass(slots=True)
class Usage:
    """Requests made and tokens used; `cached_tokens` and `reasoning_tokens` are parts of input/output."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    def add(self, usage: ResponseUsage | Mapping[str, Any] | None) -> None:
        """Count one model request and the usage it reported (None: a response without usage);
        `usage` is the SDK's typed object or the body's `usage` dict."""
        self.requests += 1
        if usage is None:
            return
        self.input_tokens += _count(usage, "input_tokens")
        self.output_tokens += _count(usage, "output_tokens")
        self.total_tokens += _count(usage, "total_tokens")
        self.cached_tokens += _count(_field(usage, "input_tokens_details"), "cached_tokens")
        self.reasoning_tokens += _count(_field(usage, "output_tokens_details"), "reasoning_tokens")

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def to_dict(self) -> dict[str, int]:
        """The counters as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        """Counters from `to_dict` output; missing ones are 0 and unknown keys are ignored."""
        counts = {f.name: data.get(f.name, 0) for f in fields(cls)}
        for name, value in counts.items():
            if type(value) is not int or value < 0:
                raise ValueError(f"Usage.{name} must be a non-negative integer, got {value!r}")
        return cls(**counts)


def _field(source: object, name: str) -> object:
    """A field of a typed object or a dict (None when absent)."""
    if isinstance(source, Mapping):
        return source.get(name)
    return getattr(source, name, None)


def _count(source: object, name: str) -> int:
    """An integer usage field, 0 when the service left it out (responses are parsed leniently)."""
    value = _field(source, name)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
