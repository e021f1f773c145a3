"""Untrusted MCP input schemas: strict when possible, quietly non-strict otherwise, bounded."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from mcp.types import Tool

from agentkit.tools.mcp.tools import MAX_DESCRIPTION, description, tool_parameters

WHERE = "server 's', tool 't'"


def nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"a": schema}, "required": ["a"]}
    return schema


def test_a_pydantic_style_schema_becomes_strict_with_optional_fields_nullable() -> None:
    schema = {
        "title": "forecastArguments",
        "type": "object",
        "properties": {
            "city": {"title": "City", "type": "string", "minLength": 1},
            "days": {"title": "Days", "type": "integer", "default": 1},
        },
        "required": ["city"],
    }

    parameters = tool_parameters(schema, WHERE)

    assert parameters is not None
    assert parameters.strict is True
    assert parameters.schema == {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        },
        "required": ["city", "days"],
        "additionalProperties": False,
    }
    assert parameters.original == schema


def test_a_schema_strict_mode_cant_express_is_sent_non_strict_logging_only_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    schema = {
        "type": "object",
        "properties": {"data": {"type": "object", "additionalProperties": True, "title": "D"}},
        "required": ["data"],
    }

    with caplog.at_level(logging.DEBUG, "agentkit.mcp"):
        parameters = tool_parameters(schema, WHERE)

    assert parameters is not None
    assert parameters.strict is False
    assert parameters.schema == {
        "type": "object",
        "properties": {"data": {"type": "object", "additionalProperties": True}},
        "required": ["data"],
    }
    assert [r.levelname for r in caplog.records] == ["DEBUG"]
    assert "free-form keys" in caplog.text


def test_a_typescript_style_schema_with_dollar_schema_can_still_be_strict() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"path": {"type": "string"}},
        "required": ["path"],
        "additionalProperties": False,
    }

    parameters = tool_parameters(schema, WHERE)

    assert parameters is not None
    assert parameters.strict is True
    assert "$schema" not in parameters.schema


def test_a_missing_root_type_and_properties_are_filled_in() -> None:
    parameters = tool_parameters({}, WHERE)

    assert parameters is not None
    assert parameters.schema == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }


def test_shapes_the_strict_converter_does_not_expect_fall_back_to_non_strict() -> None:
    parameters = tool_parameters({"type": "object", "properties": {"anything": True}}, WHERE)

    assert parameters is not None
    assert parameters.strict is False
    assert parameters.schema == {"type": "object", "properties": {"anything": True}}


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        (nested(40), "nested more than 32 levels deep"),
        (
            {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(4000)}},
            "over the 64 KB limit",
        ),
        ({"type": "array", "items": {"type": "string"}}, "describes a 'array', not an object"),
        ({"type": "object", "properties": {"a": {"type": 12}}}, "is not a valid JSON schema"),
        ({"type": "object", "$schema": 5}, "is not a valid JSON schema"),
        (["not", "a", "schema"], "is a list, not an object"),
    ],
)
def test_a_schema_over_the_bounds_or_invalid_skips_the_tool_with_a_warning(
    schema: Any, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "agentkit.mcp"):
        assert tool_parameters(schema, WHERE) is None

    (record,) = caplog.records
    assert record.levelname == "WARNING"
    assert record.getMessage().startswith("MCP server 's', tool 't' is skipped: its input schema")
    assert reason in record.getMessage()


def test_a_schema_just_within_the_depth_bound_is_kept() -> None:
    assert tool_parameters(nested(15), WHERE) is not None


def test_descriptions_are_cut_to_a_sane_length() -> None:
    long = Tool(name="t", description="word " * 1000, input_schema={"type": "object"})
    titled = Tool(name="t", title="The title", input_schema={"type": "object"})
    bare = Tool(name="t", input_schema={"type": "object"})

    assert len(description(long)) <= MAX_DESCRIPTION
    assert description(long).startswith("word word")
    assert description(long).endswith("…")
    assert description(titled) == "The title"
    assert description(bare) == ""
