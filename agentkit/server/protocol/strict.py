"""The service's checks on JSON schemas (function tools and `text.format`): valid JSON Schema
always, and strict mode's extra rules when strict is on."""

from __future__ import annotations

import functools
import json
from typing import Any

from jsonschema import Draft202012Validator, SchemaError

from agentkit.server.errors import APIError, invalid

_NESTED = ("properties", "$defs", "definitions")
_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
FUNCTION_CODE = "invalid_function_parameters"
FORMAT_CODE = "invalid_json_schema"
MAX_SHOWN = 200


def check_json_schema(schema: dict[str, Any], prefix: str, param: str, code: str) -> None:
    """Raise a 400 when `schema` is not a valid JSON Schema (draft 2020-12)."""
    problem = _schema_problem(json.dumps(schema, sort_keys=True))
    if problem is not None:
        message, path = problem
        raise invalid(f"{prefix}: {_where(path)}, {message}.", param, code)


@functools.lru_cache(maxsize=256)
def _schema_problem(canonical: str) -> tuple[str, tuple[str, ...]] | None:
    # Cached by the schema's text: an agent sends the same tools on every turn, and checking
    # against the metaschema costs about a millisecond each time.
    try:
        Draft202012Validator.check_schema(json.loads(canonical))
    except SchemaError as error:
        message = error.message
        if len(message) > MAX_SHOWN:
            message = message[:MAX_SHOWN] + "…"
        return message, tuple(str(p) for p in error.absolute_path)
    return None


def check_strict_schema(
    schema: dict[str, Any], prefix: str, param: str = "tools", code: str = FUNCTION_CODE
) -> None:
    """Raise a 400 naming the place where `schema` breaks strict mode's rules."""
    _check(schema, (), prefix, param, code)


def is_strict_compatible(schema: dict[str, Any]) -> bool:
    try:
        check_strict_schema(schema, "schema")
    except APIError:
        return False
    return True


def _check(node: Any, context: tuple[str, ...], prefix: str, param: str, code: str) -> None:
    if not isinstance(node, dict):
        return
    if node.get("type") == "object" or "properties" in node:
        _check_object(node, context, prefix, param, code)
    for key in _NESTED:
        children = node.get(key)
        if isinstance(children, dict):
            for name, child in children.items():
                _check(child, (*context, key, name), prefix, param, code)
    for key in _LISTS:
        children = node.get(key)
        if isinstance(children, list):
            for index, child in enumerate(children):
                _check(child, (*context, key, str(index)), prefix, param, code)
    if isinstance(node.get("items"), dict):
        _check(node["items"], (*context, "items"), prefix, param, code)


def _check_object(
    node: dict[str, Any], context: tuple[str, ...], prefix: str, param: str, code: str
) -> None:
    where = _where(context)
    if node.get("additionalProperties") is not False:
        raise invalid(
            f"{prefix}: {where}, 'additionalProperties' is required to be supplied and to be "
            "false.",
            param,
            code,
        )
    properties = node.get("properties") or {}
    required = node.get("required") or []
    if not isinstance(properties, dict):
        raise invalid(f"{prefix}: {where}, 'properties' must be an object.", param, code)
    if not isinstance(required, list):
        raise invalid(f"{prefix}: {where}, 'required' must be an array.", param, code)
    absent = [name for name in properties if name not in required]
    if absent:
        raise invalid(
            f"{prefix}: {where}, 'required' is required to be supplied and to be an array "
            f"including every key in properties. Missing '{absent[0]}'.",
            param,
            code,
        )


def _where(context: tuple[str, ...]) -> str:
    return f"In context=({', '.join(repr(c) for c in context)}{',' if len(context) == 1 else ''})"
