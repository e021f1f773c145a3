"""`@tool` configuration: names, options, `as_tool`, RunContext detection, approvals."""

from __future__ import annotations

import dataclasses
import functools
from typing import Annotated, Any

import pytest

from agentkit.context import RunContext
from agentkit.errors import ToolDefinitionError, UserError
from agentkit.tools import FunctionTool, as_tool, tool, unknown_tool_output


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


ADD_PARAMETERS = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
    "additionalProperties": False,
}


def test_bare_decorator_defaults() -> None:
    t = tool(add)
    assert isinstance(t, FunctionTool)
    assert (t.name, t.description, t.strict) == ("add", "Add two numbers.", True)
    assert (t.timeout, t.raise_errors, t.needs_approval) == (None, False, False)
    assert t.parameters == ADD_PARAMETERS


def test_decorator_with_options() -> None:
    t = tool(name="plus", description="Sum.", timeout=2, raise_errors=True, needs_approval=True)(
        add
    )
    assert t.to_param() == {
        "type": "function",
        "name": "plus",
        "description": "Sum.",
        "parameters": ADD_PARAMETERS,
        "strict": True,
    }
    assert (t.timeout, t.raise_errors, t.needs_approval) == (2, True, True)


def test_to_param_is_built_once() -> None:
    t = tool(add)
    assert t.to_param() is t.to_param()


def test_function_tool_is_frozen_and_hashable() -> None:
    t = tool(add)
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.name = "other"  # type: ignore[misc]
    assert {t: 1}[t] == 1


def test_async_function() -> None:
    @tool
    async def fetch(url: str) -> str:
        """Fetch a URL."""
        return url

    assert fetch.name == "fetch"
    assert fetch.description == "Fetch a URL."


@pytest.mark.parametrize("name", ["a", "get-weather_2", "x" * 64])
def test_valid_names(name: str) -> None:
    assert tool(name=name)(add).name == name


@pytest.mark.parametrize("name", ["", "has space", "dot.name", "x" * 65, "naïve", "a\n"])
def test_invalid_names_raise_at_decoration(name: str) -> None:
    with pytest.raises(ToolDefinitionError) as info:
        tool(name=name)(add)
    assert str(info.value) == (
        f"Invalid tool name {name!r}: use 1 to 64 letters, digits, '_' or '-' (pass name=...)"
    )


def test_lambda_needs_a_name() -> None:
    with pytest.raises(ToolDefinitionError, match=r"Invalid tool name '<lambda>'"):
        tool(lambda x: x)
    assert tool(name="identity")(lambda: None).name == "identity"


def test_partial_needs_a_name() -> None:
    half = functools.partial(add, b=1)
    with pytest.raises(ToolDefinitionError, match=r"Cannot name a tool after .*: pass name=\.\.\."):
        tool(half)
    t = tool(name="inc")(half)
    assert t.parameters["properties"] == {
        "a": {"type": "integer"},
        "b": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
    }


def test_definition_error_is_a_user_error() -> None:
    assert issubclass(ToolDefinitionError, UserError)


@pytest.mark.parametrize("timeout", [0, -1.5])
def test_timeout_must_be_positive(timeout: float) -> None:
    with pytest.raises(ToolDefinitionError, match=r"Tool 'add': timeout must be positive seconds"):
        tool(timeout=timeout)(add)


def test_variadic_parameters_rejected() -> None:
    def f(*args: int) -> None: ...

    def g(a: int, **kwargs: int) -> None: ...

    with pytest.raises(ToolDefinitionError, match=r"variadic parameter 'args' is not supported"):
        tool(f)
    with pytest.raises(ToolDefinitionError, match=r"variadic parameter 'kwargs' is not supported"):
        tool(g)


def test_unresolvable_annotation_is_explained() -> None:
    def f(x: NotDefinedAnywhere) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ToolDefinitionError, match=r"Tool 'f': cannot resolve a type annotation"):
        tool(f)


class Opaque:
    """Not a type pydantic can validate."""


def test_unsupported_parameter_type_is_a_definition_error() -> None:
    def f(x: Opaque) -> None: ...

    with pytest.raises(ToolDefinitionError, match=r"Tool 'f': unsupported parameter type"):
        tool(f)


# RunContext detection: by annotation, never by name


@dataclasses.dataclass
class Deps:
    user: str


def test_run_context_generic_alias_detected_anywhere() -> None:
    @tool
    def f(a: int, whatever: RunContext[Deps], /, b: str) -> None: ...

    assert list(f.parameters["properties"]) == ["a", "b"]


def test_bare_run_context_detected() -> None:
    @tool
    def f(context: RunContext, x: int) -> None:  # type: ignore[type-arg]
        ...

    assert list(f.parameters["properties"]) == ["x"]


def test_parameter_named_ctx_without_annotation_is_a_normal_parameter() -> None:
    @tool
    def f(ctx: int) -> None: ...

    assert list(f.parameters["properties"]) == ["ctx"]


def test_two_run_contexts_rejected() -> None:
    def f(a: RunContext[Deps], b: RunContext[Deps]) -> None: ...

    with pytest.raises(
        ToolDefinitionError, match=r"Tool 'f' has more than one RunContext parameter"
    ):
        tool(f)


@pytest.mark.parametrize(
    "annotation", [RunContext[Deps] | None, list[RunContext[Deps]], Annotated[RunContext, "x"]]
)
def test_run_context_inside_other_annotations_rejected(annotation: Any) -> None:
    def f(ctx: int) -> None: ...

    f.__annotations__["ctx"] = annotation
    with pytest.raises(ToolDefinitionError, match=r"'ctx' must be annotated RunContext\[\.\.\.\]"):
        tool(f)


def test_shadowing_and_private_parameter_names_keep_their_names() -> None:
    @tool
    def f(schema: str, json: int, _hidden: bool, model_config: str) -> None: ...

    assert f.parameters["properties"] == {
        "schema": {"type": "string"},
        "json": {"type": "integer"},
        "_hidden": {"type": "boolean"},
        "model_config": {"type": "string"},
    }


# as_tool


def test_as_tool_wraps_plain_function_with_defaults() -> None:
    t = as_tool(add)
    assert (t.name, t.strict, t.timeout, t.raise_errors) == ("add", True, None, False)
    assert t.parameters == ADD_PARAMETERS


def test_as_tool_returns_existing_tool_unchanged() -> None:
    t = tool(add)
    assert as_tool(t) is t


def test_as_tool_rejects_non_callables() -> None:
    with pytest.raises(
        ToolDefinitionError, match=r"42 is not a tool: pass a function or a FunctionTool"
    ):
        as_tool(42)  # type: ignore[arg-type]


# needs_approval


CTX = RunContext(Deps("ann"))


async def test_needs_approval_bool() -> None:
    assert await tool(needs_approval=True)(add).approval_required(CTX, '{"a": 1}') is True
    assert await tool(add).approval_required(CTX, '{"a": 1}') is False


async def test_needs_approval_sync_predicate_sees_context_and_arguments() -> None:
    seen: list[tuple[Any, dict[str, Any]]] = []

    def big(ctx: RunContext[Deps], args: dict[str, Any]) -> bool:
        seen.append((ctx, args))
        return bool(args["a"] > 10)

    t = tool(needs_approval=big)(add)
    assert t.needs_approval is big
    assert await t.approval_required(CTX, '{"a": 11, "b": 0}') is True
    assert await t.approval_required(CTX, '{"a": 1, "b": 0}') is False
    assert seen == [(CTX, {"a": 11, "b": 0}), (CTX, {"a": 1, "b": 0})]


async def test_needs_approval_async_predicate() -> None:
    async def for_ann(ctx: RunContext[Deps], args: dict[str, Any]) -> bool:
        return ctx.deps.user == "ann"

    t = tool(needs_approval=for_ann)(add)
    assert await t.approval_required(CTX, "{}") is True
    assert await t.approval_required(RunContext(Deps("bob")), "{}") is False


@pytest.mark.parametrize("arguments", ["{not json", "[1, 2]"])
async def test_needs_approval_predicate_skipped_for_unusable_arguments(arguments: str) -> None:
    def boom(ctx: RunContext[Deps], args: dict[str, Any]) -> bool:
        raise AssertionError("must not be called")

    assert await tool(needs_approval=boom)(add).approval_required(CTX, arguments) is False


# unknown tools


def test_unknown_tool_output_lists_available_names() -> None:
    assert unknown_tool_output("get_wether", ["get_weather", "search"]) == (
        "Error: there is no tool named 'get_wether'. Available tools: get_weather, search."
    )


def test_unknown_tool_output_without_tools() -> None:
    assert unknown_tool_output("x", []) == (
        "Error: there is no tool named 'x', and no tools are available."
    )
