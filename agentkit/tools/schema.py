"""Turn pydantic's JSON schema into what the Responses API accepts, strict or not.

Strict mode (https://platform.openai.com/docs/guides/structured-outputs) wants every object
closed (`additionalProperties: false`) with every property `required`, optional values
expressed as nullable, and no `default`. Keywords strict mode rejects but that only narrow
values (`minLength`, `uniqueItems`, unknown `format`s, ...) are dropped: pydantic still checks
them when the tool is called, and the model is told what to fix. Structural features it cannot
express (free-form keys, untyped values, tuples, ...) are reported as problems instead, so the
caller can fall back to `strict: false`.

We don't reuse `openai.lib._pydantic.to_strict_json_schema`: it is private, keeps non-`None`
defaults, leaves optional fields non-nullable, passes free-form `additionalProperties` through
(an invalid strict schema), and can recurse forever inlining a self-referencing `$ref`.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from agentkit.errors import ToolDefinitionError

JsonSchema = dict[str, Any]

_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_SCHEMA_VALUES = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
)
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")

_STRICT_KEYWORDS = frozenset(
    {
        "type",
        "description",
        "enum",
        "const",
        "$ref",
        "pattern",
        "format",
        "multipleOf",
        "maximum",
        "exclusiveMaximum",
        "minimum",
        "exclusiveMinimum",
        "minItems",
        "maxItems",
    }
)
# Only narrow the accepted values; pydantic enforces them locally, so strict mode can drop them.
_DROPPED_IN_STRICT = frozenset(
    {
        "title",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$comment",
        "discriminator",
        "minLength",
        "maxLength",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "contentEncoding",
        "contentMediaType",
    }
)
_UNSUPPORTED = {
    "prefixItems": "is a tuple (prefixItems)",
    "patternProperties": "has pattern-constrained keys (patternProperties)",
    "allOf": "combines several schemas (allOf)",
}
STRICT_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
_NULL: JsonSchema = {"type": "null"}
_PACKAGE = "agentkit."


class StrictSchemaWarning(UserWarning):
    """A tool's schema cannot be strict, so the tool is sent with `strict: false`."""


@dataclass(frozen=True)
class StrictSchema:
    """A strict version of a schema, and why it is not valid in strict mode (empty when it is)."""

    schema: JsonSchema
    problems: tuple[str, ...]


def subschemas(node: JsonSchema) -> Iterator[JsonSchema]:
    """Yield the schemas directly nested in `node` (not keyword values such as `enum` data)."""
    for key in _SCHEMA_MAPS:
        mapping = node.get(key)
        if isinstance(mapping, dict):
            yield from (s for s in mapping.values() if isinstance(s, dict))
    for key in _SCHEMA_VALUES:
        value = node.get(key)
        if isinstance(value, dict):
            yield value
    for key in _SCHEMA_LISTS:
        value = node.get(key)
        if isinstance(value, list):
            yield from (s for s in value if isinstance(s, dict))


def clean_schema(node: JsonSchema) -> JsonSchema:
    """Return a copy of `node` without pydantic's `title` noise (property names stay intact)."""
    out: JsonSchema = {}
    for key, value in node.items():
        if key == "title":
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _clean_any(sub) for name, sub in value.items()}
        elif key in _SCHEMA_VALUES and isinstance(value, dict):
            out[key] = clean_schema(value)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_clean_any(sub) for sub in value]
        else:
            out[key] = value
    return out


def _clean_any(value: Any) -> Any:
    """Clean `value` if it is a schema, return it unchanged otherwise (e.g. boolean schemas)."""
    return clean_schema(value) if isinstance(value, dict) else value


def is_nullable(node: JsonSchema) -> bool:
    """Whether `node` accepts `null` at its top level."""
    kind = node.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(is_nullable(s) for s in node.get("anyOf", ()) if isinstance(s, dict))


def to_strict_schema(schema: JsonSchema) -> StrictSchema:
    """Convert a pydantic JSON schema to strict form and list what strict mode can't express."""
    converter = _StrictConverter(schema.get("$defs", {}))
    strict = converter.convert(schema, "")
    if "$defs" in strict:
        _prune_defs(strict)
    return StrictSchema(strict, tuple(dict.fromkeys(converter.problems)))


class _StrictConverter:
    """One pass over a schema, building its strict copy and collecting problems."""

    def __init__(self, defs: dict[str, JsonSchema]) -> None:
        self.defs = defs
        self.problems: list[str] = []
        self.expanding: set[str] = set()

    def convert(self, node: JsonSchema, where: str) -> JsonSchema:
        """Return the strict copy of `node`, found at `where` (a dotted path for messages)."""
        out: JsonSchema = {}
        for key, value in node.items():
            self._convert_keyword(out, key, value, where)
        if out.get("type") == "object" or "properties" in out:
            self._close_object(out, node.get("required", ()), where)
        if "$ref" in out and len(out) > 1:
            out = self._inline_ref(out)
        if not {"type", "$ref", "anyOf", "enum", "const"} & out.keys():
            self._problem(where, "accepts any value (typed Any or not annotated)")
        return out

    def _convert_keyword(self, out: JsonSchema, key: str, value: Any, where: str) -> None:
        """Copy one keyword of a schema into `out`, converted for strict mode."""
        if key in _DROPPED_IN_STRICT or (key == "format" and value not in STRICT_FORMATS):
            return
        if key == "required":
            return  # `_close_object` requires every property
        if key == "properties":
            out[key] = {name: self.convert(s, _join(where, name)) for name, s in value.items()}
        elif key == "$defs":
            out[key] = {name: self._convert_def(name, s) for name, s in value.items()}
        elif key == "items" and isinstance(value, dict):
            out[key] = self.convert(value, f"{where}[]")
        elif key in ("anyOf", "oneOf"):
            out["anyOf"] = [self.convert(s, where) for s in value]
        elif key == "allOf" and len(value) == 1:
            out.update(self.convert(value[0], where))
        elif key == "additionalProperties":
            if value is not False:
                self._problem(where, "is an object with free-form keys (e.g. dict[str, ...])")
            out[key] = False
        elif key in _STRICT_KEYWORDS:
            out[key] = value
        else:
            self._problem(where, _UNSUPPORTED.get(key, f"uses the JSON schema keyword {key!r}"))

    def _convert_def(self, name: str, node: JsonSchema) -> JsonSchema:
        """Convert a `$defs` entry; its own self-references stay `$ref`s."""
        self.expanding.add(name)
        try:
            return self.convert(node, name)
        finally:
            self.expanding.discard(name)

    def _close_object(self, out: JsonSchema, required: Any, where: str) -> None:
        """Make an object strict: closed, every property required, optional ones nullable."""
        properties: JsonSchema = out.setdefault("properties", {})
        for name, prop in properties.items():
            if name not in required and not is_nullable(prop):
                properties[name] = _nullable(prop)
        out["required"] = list(properties)
        out.setdefault("additionalProperties", False)

    def _inline_ref(self, out: JsonSchema) -> JsonSchema:
        """Replace `{"$ref", ...siblings}` (which strict mode rejects) by the referenced schema."""
        ref = out.pop("$ref")
        name = ref.rsplit("/", 1)[-1]
        if name in self.expanding or name not in self.defs:
            return {"$ref": ref}  # a recursive reference keeps its `$ref` and loses the siblings
        self.expanding.add(name)
        try:
            target = self.convert(self.defs[name], name)
        finally:
            self.expanding.discard(name)
        return {**target, **out}

    def _problem(self, where: str, what: str) -> None:
        """Record why strict mode can't express the schema at `where`."""
        self.problems.append(f"{where!r} {what}" if where else f"the arguments object {what}")


def _join(where: str, name: str) -> str:
    """Extend a dotted location with a property name."""
    return f"{where}.{name}" if where else name


def _nullable(prop: JsonSchema) -> JsonSchema:
    """Wrap `prop` so it also accepts `null`, keeping its description on the outside."""
    inner = dict(prop)
    description = inner.pop("description", None)
    variants = inner["anyOf"] if list(inner) == ["anyOf"] else [inner]
    wrapped: JsonSchema = {"anyOf": [*variants, _NULL]}
    if description is not None:
        wrapped["description"] = description
    return wrapped


def _prune_defs(schema: JsonSchema) -> None:
    """Drop `$defs` entries nothing refers to any more (e.g. inlined enums)."""
    defs: dict[str, JsonSchema] = schema["$defs"]
    used: set[str] = set()
    pending = [{k: v for k, v in schema.items() if k != "$defs"}]
    while pending:
        node = pending.pop()
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in used and name in defs:
                used.add(name)
                pending.append(defs[name])
        pending.extend(subschemas(node))
    kept = {name: s for name, s in defs.items() if name in used}
    if kept:
        schema["$defs"] = kept
    else:
        del schema["$defs"]


def tool_parameters(
    schema: JsonSchema, tool_name: str, strict: bool | None
) -> tuple[JsonSchema, bool]:
    """Choose a tool's `parameters` and `strict` flag: strict when possible unless told otherwise.

    `strict=None` falls back to a non-strict schema with a `StrictSchemaWarning`;
    `strict=True` raises `ToolDefinitionError` instead.
    """
    if strict is False:
        return clean_schema(schema), False
    converted = to_strict_schema(schema)
    if not converted.problems:
        return converted.schema, True
    reasons = "; ".join(converted.problems)
    if strict:
        raise ToolDefinitionError(
            f"Tool {tool_name!r} cannot be strict: {reasons}. "
            "Change the parameter types, or pass strict=False"
        )
    warnings.warn(
        f"Tool {tool_name!r} cannot use strict mode: {reasons}; it is sent with strict=false. "
        "Pass strict=False to silence this warning",
        StrictSchemaWarning,
        stacklevel=_caller_stacklevel(),
    )
    return clean_schema(schema), False


def _caller_stacklevel() -> int:
    """The `warnings` stack level of the first frame outside agentkit.tools (the decorated code)."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level
