"""Read a tool's description and its parameters' descriptions from a docstring."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import docstring_parser


@dataclass(frozen=True)
class DocstringInfo:
    """What a docstring says: a description of the function and one per parameter."""

    description: str = ""
    params: dict[str, str] = field(default_factory=dict)


def parse_docstring(func: Callable[..., Any]) -> DocstringInfo:
    """Parse `func`'s docstring in Google, NumPy or reST style (detected automatically)."""
    text = inspect.getdoc(func)
    if not text:
        return DocstringInfo()
    parsed = docstring_parser.parse(text)
    summary = [part for part in (parsed.short_description, parsed.long_description) if part]
    params = {p.arg_name: p.description for p in parsed.params if p.description}
    return DocstringInfo(description="\n\n".join(summary), params=params)
