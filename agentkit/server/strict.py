"""The service's checks on strict JSON schemas (function tools and `text.format`)."""

from __future__ import annotations

from typing import Any

from agentkit.server.errors import APIError, invalid

_NESTED = ("properties", "$defs", "definitions")
_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")


def check_strict_schema(schema: dict[str, Any], prefix: str) -> None:
    """Raise a 400 naming the place where `schema` breaks strict mode's rules."""
    _check(schema, (), prefix)


def is_strict_compatible(schema: dict[str, Any]) -> bool:
    try:
        check_strict_schema(schema, "schema")
    except APIError:
        return False
    return True


def _check(node: Any, context: tuple[str, ...], prefix: str) -> None:
    if not isinstance(node, dict):
        return
    if node.get("type") == "object" or "properties" in node:
        _check_object(node, context, prefix)
    for key in _NESTED:
        children = node.get(key)
        if isinstance(children, dict):
            for name, child in children.items():
                _check(child, (*context, key, name), prefix)
    for key in _LISTS:
        children = node.get(key)
        if isinstance(children, list):
            for index, child in enumerate(children):
                _check(child, (*context, key, str(index)), prefix)
    if isinstance(node.get("items"), dict):
        _check(node["items"], (*context, "items"), prefix)


def _check_object(node: dict[str, Any], context: tuple[str, ...], prefix: str) -> None:
    where = f"In context=({', '.join(repr(c) for c in context)}{',' if len(context) == 1 else ''})"
    if node.get("additionalProperties") is not False:
        raise invalid(
            f"{prefix}: {where}, 'additionalProperties' is required to be supplied and to be "
            "false.",
            _param(prefix),
            "invalid_function_parameters",
        )
    properties = node.get("properties") or {}
    required = node.get("required") or []
    absent = [name for name in properties if name not in required]
    if absent:
        raise invalid(
            f"{prefix}: {where}, 'required' is required to be supplied and to be an array "
            f"including every key in properties. Missing '{absent[0]}'.",
            _param(prefix),
            "invalid_function_parameters",
        )


def _param(prefix: str) -> str:
    return "text.format.schema" if "response_format" in prefix else "tools"
