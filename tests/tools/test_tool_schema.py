"""Exact JSON schemas `@tool` produces from type hints and docstrings, strict and not."""

from __future__ import annotations

import dataclasses
import datetime
import enum
from typing import Annotated, Any, Literal, Optional

import pytest
from jsonschema import Draft202012Validator
from openai.lib._pydantic import to_strict_json_schema
from pydantic import AnyUrl, BaseModel, Field
from typing_extensions import TypedDict

from agentkit.context import RunContext
from agentkit.errors import ToolDefinitionError
from agentkit.tools import FunctionTool, StrictSchemaWarning, tool
from agentkit.tools.schema import clean_schema

NULL = {"type": "null"}


def nullable(schema: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    """The strict form of an optional property."""
    wrapped: dict[str, Any] = {"anyOf": [schema, NULL]}
    if description is not None:
        wrapped["description"] = description
    return wrapped


def closed(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A strict object schema with these properties."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
        **extra,
    }


def assert_strict(schema: Any, path: str = "") -> None:
    """Check the Responses API strict-mode rules on a schema, recursively."""
    if isinstance(schema, list):
        for i, item in enumerate(schema):
            assert_strict(item, f"{path}[{i}]")
        return
    if not isinstance(schema, dict):
        return
    assert "default" not in schema, path
    assert "title" not in schema, path
    assert "oneOf" not in schema and "allOf" not in schema, path
    assert "$ref" not in schema or len(schema) == 1, f"$ref with siblings at {path}"
    if schema.get("type") == "object" or "properties" in schema:
        assert schema["additionalProperties"] is False, path
        assert schema["required"] == list(schema["properties"]), path
    for key in ("properties", "$defs"):
        for name, sub in schema.get(key, {}).items():
            assert_strict(sub, f"{path}.{name}")
    for key in ("items", "anyOf"):
        if key in schema:
            assert_strict(schema[key], f"{path}.{key}")


def strict_params(t: FunctionTool) -> dict[str, Any]:
    """The tool's parameters, after checking it is strict and follows the strict rules."""
    assert t.strict is True
    Draft202012Validator.check_schema(t.parameters)
    assert_strict(t.parameters)
    return t.parameters


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    """A postal address."""

    street: str
    city: str = Field(description="City name.")
    zip_code: str | None = None


class Person(BaseModel):
    name: str
    address: Address
    tags: list[str] = []


class Movie(TypedDict):
    title: str
    year: int


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


class Node(BaseModel):
    value: int
    children: list[Node] = []
    parent: Node | None = None


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]


def get_weather(
    city: str, units: Literal["celsius", "fahrenheit"] = "celsius", days: int | None = None
) -> str:
    """Get the weather forecast for a city.

    Uses the national weather service.

    Args:
        city: The city, e.g. Paris.
        units: Temperature units.
        days: How many days ahead.
    """
    return city


def test_weather_tool_param_is_exact() -> None:
    t = tool(get_weather)
    assert t.to_param() == {
        "type": "function",
        "name": "get_weather",
        "description": "Get the weather forecast for a city.\n\nUses the national weather service.",
        "parameters": closed(
            {
                "city": {"type": "string", "description": "The city, e.g. Paris."},
                "units": nullable(
                    {"type": "string", "enum": ["celsius", "fahrenheit"]}, "Temperature units."
                ),
                "days": nullable({"type": "integer"}, "How many days ahead."),
            }
        ),
        "strict": True,
    }
    assert_strict(t.parameters)


def test_scalars_and_containers() -> None:
    @tool
    def f(s: str, i: int, x: float, b: bool, items: list[int], grid: list[list[str]]) -> None:
        """Scalars."""

    assert strict_params(f) == closed(
        {
            "s": {"type": "string"},
            "i": {"type": "integer"},
            "x": {"type": "number"},
            "b": {"type": "boolean"},
            "items": {"type": "array", "items": {"type": "integer"}},
            "grid": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
        }
    )


def test_literal_enum_and_single_literal() -> None:
    @tool
    def f(color: Color, mode: Literal["fast"], level: Literal[1, 2, 3]) -> None:
        """Enums."""

    assert strict_params(f) == closed(
        {
            "color": {"$ref": "#/$defs/Color"},
            "mode": {"type": "string", "const": "fast"},
            "level": {"type": "integer", "enum": [1, 2, 3]},
        },
        **{"$defs": {"Color": {"type": "string", "enum": ["red", "blue"]}}},
    )


def test_enum_with_description_is_inlined_and_its_def_dropped() -> None:
    @tool
    def f(color: Annotated[Color, Field(description="Paint colour.")]) -> None:
        """Paint."""

    assert strict_params(f) == closed(
        {"color": {"type": "string", "enum": ["red", "blue"], "description": "Paint colour."}}
    )


def test_optional_spellings_and_defaults_become_required_nullable() -> None:
    @tool
    def f(
        a: Optional[int],  # noqa: UP045 - the old spelling is what we test
        b: int | None = None,
        c: str = "x",
        d: int | str = 1,
        e: Color = Color.RED,
    ) -> None:
        """Optionals."""

    assert strict_params(f) == closed(
        {
            "a": {"anyOf": [{"type": "integer"}, NULL]},
            "b": {"anyOf": [{"type": "integer"}, NULL]},
            "c": {"anyOf": [{"type": "string"}, NULL]},
            "d": {"anyOf": [{"type": "integer"}, {"type": "string"}, NULL]},
            "e": {"anyOf": [{"$ref": "#/$defs/Color"}, NULL]},
        },
        **{"$defs": {"Color": {"type": "string", "enum": ["red", "blue"]}}},
    )


def test_nested_pydantic_models() -> None:
    @tool
    def f(person: Person) -> None:
        """Save a person."""

    address = closed(
        {
            "street": {"type": "string"},
            "city": {"type": "string", "description": "City name."},
            "zip_code": {"anyOf": [{"type": "string"}, NULL]},
        },
        description="A postal address.",
    )
    person = closed(
        {
            "name": {"type": "string"},
            "address": {"$ref": "#/$defs/Address"},
            "tags": nullable({"type": "array", "items": {"type": "string"}}),
        }
    )
    assert strict_params(f) == closed(
        {"person": {"$ref": "#/$defs/Person"}}, **{"$defs": {"Address": address, "Person": person}}
    )


def test_typed_dict_and_dataclass() -> None:
    @tool
    def f(movie: Movie, point: Point) -> None:
        """Shapes."""

    movie = closed({"title": {"type": "string"}, "year": {"type": "integer"}})
    point = closed({"x": {"type": "number"}, "y": nullable({"type": "number"})})
    assert strict_params(f) == closed(
        {"movie": {"$ref": "#/$defs/Movie"}, "point": {"$ref": "#/$defs/Point"}},
        **{"$defs": {"Movie": movie, "Point": point}},
    )


def test_recursive_model_keeps_refs() -> None:
    @tool
    def f(tree: Node) -> None:
        """Trees."""

    node = closed(
        {
            "value": {"type": "integer"},
            "children": nullable({"type": "array", "items": {"$ref": "#/$defs/Node"}}),
            "parent": {"anyOf": [{"$ref": "#/$defs/Node"}, NULL]},
        }
    )
    assert strict_params(f) == closed(
        {"tree": {"$ref": "#/$defs/Node"}}, **{"$defs": {"Node": node}}
    )


def test_discriminated_union_becomes_any_of() -> None:
    @tool
    def f(pet: Annotated[Cat | Dog, Field(discriminator="kind")]) -> None:
        """Pets."""

    cat = closed({"kind": {"type": "string", "const": "cat"}, "lives": {"type": "integer"}})
    dog = closed({"kind": {"type": "string", "const": "dog"}})
    assert strict_params(f) == closed(
        {"pet": {"anyOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}]}},
        **{"$defs": {"Cat": cat, "Dog": dog}},
    )


def test_value_constraints_kept_or_dropped_per_strict_rules() -> None:
    @tool
    def f(
        n: Annotated[int, Field(ge=1, le=9)],
        code: Annotated[str, Field(min_length=2, max_length=5, pattern="^a")],
        when: datetime.datetime,
        url: AnyUrl,
        labels: set[str],
        few: Annotated[list[int], Field(min_length=1, max_length=3)],
    ) -> None:
        """Constraints."""

    assert strict_params(f) == closed(
        {
            "n": {"type": "integer", "minimum": 1, "maximum": 9},
            "code": {"type": "string", "pattern": "^a"},
            "when": {"type": "string", "format": "date-time"},
            "url": {"type": "string"},
            "labels": {"type": "array", "items": {"type": "string"}},
            "few": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3},
        }
    )


def test_property_named_title_survives_title_cleanup() -> None:
    @tool
    def f(title: str, movie: Movie) -> None:
        """Titles."""

    assert strict_params(f)["properties"]["title"] == {"type": "string"}
    assert f.parameters["$defs"]["Movie"]["properties"]["title"] == {"type": "string"}


def test_no_parameters() -> None:
    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    assert strict_params(ping) == closed({})


def test_same_as_openai_sdk_strict_helper_when_everything_is_required() -> None:
    class Args(BaseModel):
        person: Person
        color: Annotated[Color, Field(description="Paint colour.")]

    @tool
    def f(person: Person, color: Annotated[Color, Field(description="Paint colour.")]) -> None:
        """Same."""

    sdk = clean_schema(to_strict_json_schema(Args))
    ours = strict_params(f)
    # The SDK keeps `tags`' default and leaves it non-nullable; we make it nullable and drop it.
    sdk["$defs"]["Person"]["properties"]["tags"] = nullable(
        {"type": "array", "items": {"type": "string"}}
    )
    del sdk["$defs"]["Color"]  # still in $defs after inlining; we prune unused defs
    assert ours == sdk


# Docstring styles


def google(city: str, days: int) -> None:
    """Forecast.

    Args:
        city: The city.
        days (int): How many days.
    """


def numpy_style(city: str, days: int) -> None:
    """Forecast.

    Parameters
    ----------
    city : str
        The city.
    days : int
        How many days.
    """


def rest(city: str, days: int) -> None:
    """Forecast.

    :param city: The city.
    :param int days: How many days.
    """


@pytest.mark.parametrize("func", [google, numpy_style, rest])
def test_docstring_styles(func: Any) -> None:
    t = tool(func)
    assert t.description == "Forecast."
    assert strict_params(t) == closed(
        {
            "city": {"type": "string", "description": "The city."},
            "days": {"type": "integer", "description": "How many days."},
        }
    )


def test_annotated_description_wins_over_docstring() -> None:
    @tool
    def f(city: Annotated[str, Field(description="From Annotated.")], days: int) -> None:
        """Forecast.

        Args:
            city: From the docstring.
            days: Days.
        """

    assert f.parameters["properties"]["city"] == {
        "type": "string",
        "description": "From Annotated.",
    }
    assert f.parameters["properties"]["days"] == {"type": "integer", "description": "Days."}


def test_description_override_and_missing_docstring() -> None:
    t = tool(description="Custom.")(google)
    assert t.description == "Custom."
    assert t.parameters["properties"]["city"]["description"] == "The city."

    @tool
    def bare(x: int) -> None:
        pass

    assert bare.description == ""
    assert bare.parameters == closed({"x": {"type": "integer"}})


def test_run_context_absent_from_schema() -> None:
    @tool
    def f(a: int, ctx: RunContext[dict[str, int]], b: str) -> None:
        """Mixed.

        Args:
            ctx: Not for the model.
        """

    assert strict_params(f) == closed({"a": {"type": "integer"}, "b": {"type": "string"}})


# strict=False and the automatic fallback


def test_explicit_non_strict_is_clean_pydantic_schema() -> None:
    t = tool(strict=False)(get_weather)
    assert t.strict is False
    assert t.to_param()["strict"] is False
    assert t.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city, e.g. Paris."},
            "units": {
                "type": "string",
                "enum": ["celsius", "fahrenheit"],
                "default": "celsius",
                "description": "Temperature units.",
            },
            "days": {
                "anyOf": [{"type": "integer"}, NULL],
                "default": None,
                "description": "How many days ahead.",
            },
        },
        "required": ["city"],
        "additionalProperties": False,
    }


def scores(totals: dict[str, int], label: str) -> None:
    """Scores."""


@pytest.mark.parametrize(
    ("annotation", "reason"),
    [
        (dict[str, int], "'value' is an object with free-form keys"),
        (dict[str, Any], "'value' is an object with free-form keys"),
        (Any, "'value' accepts any value (typed Any or not annotated)"),
        (tuple[int, str], "'value' is a tuple (prefixItems)"),
    ],
)
def test_unstrictable_types_fall_back_with_warning(annotation: Any, reason: str) -> None:
    def f(value: int) -> None:
        """F."""

    f.__annotations__["value"] = annotation
    with pytest.warns(StrictSchemaWarning) as caught:
        t = tool(f)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith(f"Tool 'f' cannot use strict mode: {reason}")
    assert message.endswith(
        "it is sent with strict=false. Pass strict=False to silence this warning"
    )
    assert caught[0].filename == __file__
    assert t.strict is False
    assert "default" not in str(t.parameters) and "title" not in str(t.parameters)


def test_fallback_schema_is_the_cleaned_pydantic_schema() -> None:
    with pytest.warns(StrictSchemaWarning, match=r"Tool 'scores' cannot use strict mode"):
        t = tool(scores)
    assert t.to_param()["strict"] is False
    assert t.parameters == {
        "type": "object",
        "properties": {
            "totals": {"type": "object", "additionalProperties": {"type": "integer"}},
            "label": {"type": "string"},
        },
        "required": ["totals", "label"],
        "additionalProperties": False,
    }


def test_unannotated_parameter_falls_back() -> None:
    def f(x, y: int):
        """F."""

    with pytest.warns(StrictSchemaWarning, match=r"'x' accepts any value"):
        t = tool(f)
    assert t.parameters["properties"]["x"] == {}


class Config(BaseModel):
    extra: dict[str, str]


def test_nested_problem_names_the_model_field() -> None:
    def f(config: Config) -> None:
        """F."""

    with pytest.warns(
        StrictSchemaWarning, match=r"'Config\.extra' is an object with free-form keys"
    ):
        tool(f)


def test_explicit_strict_true_raises_when_impossible() -> None:
    with pytest.raises(ToolDefinitionError) as info:
        tool(strict=True)(scores)
    assert str(info.value) == (
        "Tool 'scores' cannot be strict: 'totals' is an object with free-form keys "
        "(e.g. dict[str, ...]). Change the parameter types, or pass strict=False"
    )


def test_explicit_strict_true_when_possible() -> None:
    assert tool(strict=True)(get_weather).strict is True


def test_strict_false_does_not_warn() -> None:
    t = tool(strict=False)(scores)
    assert t.strict is False
