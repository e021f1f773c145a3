"""Structured output: `output_type` as a strict `text.format` schema, and parsing the answer."""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from agentkit.tools.schema import StrictSchemaWarning, clean_schema, to_strict_schema

WRAPPER_KEY = "result"


@dataclass(frozen=True)
class OutputSpec:
    """How an agent asks for and reads its final answer."""

    output_type: Any
    adapter: TypeAdapter[Any] | None
    text_format: dict[str, Any] | None
    wrapped: bool

    @classmethod
    def for_type(cls, output_type: Any) -> OutputSpec:
        if output_type is str or output_type is None:
            return cls(str, None, None, False)
        adapter: TypeAdapter[Any] = TypeAdapter(output_type)
        schema = clean_schema(adapter.json_schema())
        wrapped = schema.get("type") != "object"
        if wrapped:
            defs = schema.pop("$defs", None)
            schema = {
                "type": "object",
                "properties": {WRAPPER_KEY: schema},
                "required": [WRAPPER_KEY],
                "additionalProperties": False,
                **({"$defs": defs} if defs else {}),
            }
        strict = to_strict_schema(schema)
        name = _format_name(output_type)
        if strict.problems:
            warnings.warn(
                f"output_type {name} cannot be expressed in strict mode "
                f"({'; '.join(strict.problems)}); asking for it with strict: false.",
                StrictSchemaWarning,
                stacklevel=3,
            )
        text_format = {
            "type": "json_schema",
            "name": name,
            "schema": strict.schema if not strict.problems else schema,
            "strict": not strict.problems,
        }
        return cls(output_type, adapter, text_format, wrapped)

    def parse(self, text: str) -> Any:
        """The answer as an `output_type` instance; raises `ValidationError` or `ValueError`."""
        if self.adapter is None:
            return text
        if not self.wrapped:
            return self.adapter.validate_json(text)
        data = json.loads(text)
        if not isinstance(data, dict) or WRAPPER_KEY not in data:
            raise ValueError(f'expected a JSON object with a "{WRAPPER_KEY}" key')
        return self.adapter.validate_python(data[WRAPPER_KEY])


def _format_name(output_type: Any) -> str:
    raw = getattr(output_type, "__name__", None) or str(output_type)
    return re.sub(r"[^a-zA-Z0-9_-]", "_", raw)[:64] or "output"


def describe_failure(error: Exception) -> str:
    """What to tell the model when its answer did not fit the schema."""
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors()
        )
    else:
        problems = str(error)
    return (
        f"Your last answer did not match the required JSON schema ({problems}). "
        "Answer again with only JSON that matches the schema."
    )
