"""Deterministic JSON instances of a JSON schema, seeded with values found in the user's words."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_PHRASE = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)*)")
_FORMATS = {
    "date": "2026-01-01",
    "date-time": "2026-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
MAX_DEPTH = 12


@dataclass
class Seeds:
    """Numbers and capitalised phrases from a text, handed out in order of appearance."""

    numbers: list[float] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)

    @classmethod
    def from_text(cls, text: str) -> Seeds:
        numbers = [float(n) for n in _NUMBER.findall(text)]
        phrases = [p for p in _PHRASE.findall(text) if len(p) > 1]
        return cls(numbers, phrases)


def instance_for(schema: Any, seeds: Seeds | None = None) -> Any:
    """A value valid under `schema` (the subset strict mode and pydantic produce)."""
    return _Builder(schema if isinstance(schema, dict) else {}, seeds or Seeds()).build(
        schema, "value", 0
    )


@dataclass
class _Builder:
    root: dict[str, Any]
    seeds: Seeds

    def build(self, schema: Any, name: str, depth: int) -> Any:
        if not isinstance(schema, dict) or depth > MAX_DEPTH:
            return None
        schema = self.deref(schema)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][0]
        for key in ("anyOf", "oneOf", "allOf"):
            variants = schema.get(key)
            if isinstance(variants, list) and variants:
                return self.build(_pick(variants, self), name, depth + 1)
        kind = _type_of(schema)
        if kind == "object":
            return self.object(schema, depth)
        if kind == "array":
            return self.array(schema, name, depth)
        if kind in ("integer", "number"):
            return self.number(schema, kind)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self.string(schema, name)

    def deref(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while isinstance(schema.get("$ref"), str) and seen < MAX_DEPTH:
            target: Any = self.root
            for part in schema["$ref"].removeprefix("#/").split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            schema = target if isinstance(target, dict) else {}
            seen += 1
        return schema

    def object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        return {key: self.build(sub, key, depth + 1) for key, sub in properties.items()}

    def array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        count = max(1, int(schema.get("minItems", 1)))
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        return [self.build(schema.get("items", {}), name, depth + 1) for _ in range(count)]

    def number(self, schema: dict[str, Any], kind: str) -> float | int:
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        value: float = self.seeds.numbers.pop(0) if self.seeds.numbers else 1
        if kind == "integer" and not float(value).is_integer():
            value = round(value)
        if (low is not None and value <= low) or (high is not None and value >= high):
            value = _between(low, high)
        return int(value) if kind == "integer" else float(value)

    def string(self, schema: dict[str, Any], name: str) -> str:
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        value = self.seeds.phrases.pop(0) if self.seeds.phrases else f"example {name}"
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        value = value.ljust(low, "x")
        return value[: int(high)] if high is not None else value


def _type_of(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if isinstance(kind, str):
        return kind
    return "object" if "properties" in schema else "string"


def _pick(variants: list[Any], builder: _Builder) -> Any:
    for variant in variants:
        if isinstance(variant, dict) and _type_of(builder.deref(variant)) != "null":
            return variant
    return variants[0]


def _between(low: Any, high: Any) -> float:
    if low is not None and high is not None:
        return (float(low) + float(high)) / 2
    if low is not None:
        return float(low) + 1
    return float(high) - 1
