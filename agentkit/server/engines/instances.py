"""Deterministic JSON instances of a JSON schema, seeded with values found in the user's words."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

# A minus sign counts only when it does not join two words ("gpt-4o" holds 4, not -4).
_NUMBER = re.compile(r"(?:(?<!\w)-)?\d+(?:\.\d+)?")
# A quoted text, or a run of capitalised words that does not start a sentence.
_PHRASE = re.compile(
    r"\"([^\"\n]+)\"|“([^”\n]+)”"
    r"|(?<![.!?]\s)(?<!^)\b([A-Z][A-Za-z0-9]+(?:\s+[A-Z][A-Za-z0-9]+)*)"
)
_FORMATS = {
    "date": "2026-01-01",
    "date-time": "2026-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
MAX_DEPTH = 12
# Bounds on what one instance may cost, whatever the schema asks (`minItems: 1e12`, arrays of
# arrays of ...): past them the instance is cut short rather than the server brought down.
MAX_ITEMS = 64
MAX_LENGTH = 4096
MAX_NODES = 2000


@dataclass
class Seeds:
    """Numbers and phrases from a text, handed out in order of appearance, and the text itself."""

    numbers: list[float] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    text: str = ""

    @classmethod
    def from_text(cls, text: str) -> Seeds:
        # Only finite numbers: 400 digits in a row are "inf" to float().
        numbers = [n for n in map(float, _NUMBER.findall(text)) if math.isfinite(n)]
        phrases = [next(g for g in groups if g) for groups in _PHRASE.findall(text)]
        return cls(numbers, phrases, text.lower())

    def mentioned(self, options: list[Any]) -> Any:
        """The first string option the text names as a word (case-insensitive), else the first."""
        for option in options:
            if isinstance(option, str) and option and _names(self.text, option.lower()):
                return option
        return options[0]


def _names(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) is not None


def instance_for(schema: Any, seeds: Seeds | None = None) -> Any:
    """A value valid under `schema` (the subset strict mode and pydantic produce)."""
    return _Builder(schema if isinstance(schema, dict) else {}, seeds or Seeds()).build(
        schema, "value", 0
    )


@dataclass
class _Builder:
    root: dict[str, Any]
    seeds: Seeds
    budget: int = MAX_NODES

    def build(self, schema: Any, name: str, depth: int) -> Any:
        if not isinstance(schema, dict) or depth > MAX_DEPTH or self.budget <= 0:
            return None
        self.budget -= 1
        schema = self.merged(self.deref(schema))
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.seeds.mentioned(schema["enum"])
        for key in ("anyOf", "oneOf"):
            variants = schema.get(key)
            if isinstance(variants, list) and variants:
                return self.build(_pick(variants, self), name, depth + 1)
        kind = _type_of(schema)
        if kind == "object":
            return self.object(schema, depth)
        if kind == "array":
            return self.array(schema, name, depth)
        if kind in ("integer", "number"):
            try:
                return _number(schema, kind, self.seeds)
            except (OverflowError, ZeroDivisionError):  # bounds beyond floating point
                return 0
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

    def merged(self, schema: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        """`allOf` folded into one schema: properties and `required` united, else first wins."""
        parts = schema.get("allOf")
        if not isinstance(parts, list) or depth > MAX_DEPTH or self.budget <= 0:
            return schema  # also where an `allOf` refers back to itself
        self.budget -= 1
        result = {k: v for k, v in schema.items() if k != "allOf"}
        for part in parts:
            part = self.merged(self.deref(part), depth + 1) if isinstance(part, dict) else {}
            for key, value in part.items():
                if key == "properties" and isinstance(value, dict):
                    result["properties"] = {**value, **result.get("properties", {})}
                elif key == "required" and isinstance(value, list):
                    result["required"] = [*result.get("required", []), *value]
                else:
                    result.setdefault(key, value)
        return result

    def object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        return {key: self.build(sub, key, depth + 1) for key, sub in properties.items()}

    def array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        count = max(1, int(schema.get("minItems", 1)))
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        count = min(count, MAX_ITEMS)
        return [self.build(schema.get("items", {}), name, depth + 1) for _ in range(count)]

    def string(self, schema: dict[str, Any], name: str) -> str:
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        value = self.seeds.phrases.pop(0) if self.seeds.phrases else f"example {name}"
        low, high = min(int(schema.get("minLength", 0)), MAX_LENGTH), schema.get("maxLength")
        value = value.ljust(low, "x")
        return value[: int(high)] if high is not None else value


def _number(schema: dict[str, Any], kind: str, seeds: Seeds) -> float | int:
    """The next number of the text when the schema allows it, else the first value it allows."""
    candidates = [seeds.numbers.pop(0)] if seeds.numbers else []
    candidates += [1.0, 0.0, *_near_bounds(schema)]
    for candidate in candidates:
        value = float(round(candidate)) if kind == "integer" else candidate
        if _allowed(value, schema):
            # Whole numbers are written as integers, as a model writes them ("2", not "2.0").
            return int(value) if value.is_integer() else value
    low = _bound(schema, "minimum", "exclusiveMinimum") or 0.0
    high = _bound(schema, "maximum", "exclusiveMaximum") or low
    middle = (low + high) / 2
    return math.ceil(middle) if kind == "integer" else middle


def _near_bounds(schema: dict[str, Any]) -> list[float]:
    """Values at or just inside the schema's bounds, and multiples of `multipleOf` near them."""
    values: list[float] = []
    for key, offset in (
        ("minimum", 0),
        ("exclusiveMinimum", 1),
        ("maximum", 0),
        ("exclusiveMaximum", -1),
    ):
        if _is_number(schema.get(key)):
            values.append(float(schema[key]) + offset)
    step = _bound(schema, "multipleOf")
    if step is not None and step > 0:
        low = math.floor((_bound(schema, "minimum", "exclusiveMinimum") or 0.0) / step)
        values += [step, low * step, (low + 1) * step]
    return values


def _bound(schema: dict[str, Any], *keys: str) -> float | None:
    for key in keys:
        if _is_number(schema.get(key)):
            return float(schema[key])
    return None


def _allowed(value: float, schema: dict[str, Any]) -> bool:
    low, high = _bound(schema, "minimum"), _bound(schema, "maximum")
    above, below = _bound(schema, "exclusiveMinimum"), _bound(schema, "exclusiveMaximum")
    step = _bound(schema, "multipleOf")
    return (
        (low is None or value >= low)
        and (high is None or value <= high)
        and (above is None or value > above)
        and (below is None or value < below)
        and (step is None or (step > 0 and math.isclose(value / step, round(value / step))))
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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
