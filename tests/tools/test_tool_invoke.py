"""`FunctionTool.invoke`: typed arguments in, text out, every failure as a message or ToolError."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import datetime
import enum
import json
import threading
import time
from typing import Any

import pydantic
import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from agentkit.context import RunContext
from agentkit.errors import ToolError
from agentkit.tools import tool


@dataclasses.dataclass
class Deps:
    user: str


CTX: RunContext[Deps] = RunContext(Deps("ann"), turn=3, model="gpt-x", run_id="run_1")


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


class Place(BaseModel):
    city: str
    country: str = "FR"


@dataclasses.dataclass
class Window:
    start: datetime.date
    days: int = 1


class Options(TypedDict):
    verbose: bool


class Forecast(BaseModel):
    city: str
    temps: list[float]
    unit: Unit
    at: datetime.datetime


# Calling: sync and async, typed values, context


async def test_async_tool_receives_typed_values() -> None:
    received: dict[str, Any] = {}

    @tool
    async def plan(
        place: Place, window: Window, unit: Unit, options: Options, stops: list[Place]
    ) -> str:
        """Plan."""
        received.update(place=place, window=window, unit=unit, options=options, stops=stops)
        return "ok"

    arguments = {
        "place": {"city": "Paris", "country": None},
        "window": {"start": "2025-01-02", "days": 3},
        "unit": "fahrenheit",
        "options": {"verbose": True},
        "stops": [{"city": "Lyon", "country": "FR"}],
    }
    assert await plan.invoke(CTX, json.dumps(arguments)) == "ok"
    assert isinstance(received["place"], Place)
    assert received["place"] == Place(city="Paris", country="FR")
    assert isinstance(received["window"], Window)
    assert received["window"] == Window(start=datetime.date(2025, 1, 2), days=3)
    assert received["unit"] is Unit.F
    assert received["options"] == {"verbose": True}
    assert received["stops"] == [Place(city="Lyon")]


async def test_sync_tool_runs_in_a_worker_thread() -> None:
    threads: list[int] = []

    @tool
    def where(x: int) -> int:
        threads.append(threading.get_ident())
        return x * 2

    assert await where.invoke(CTX, '{"x": 21}') == "42"
    assert threads and threads[0] != threading.get_ident()


async def test_run_context_injected_by_annotation() -> None:
    @tool
    def who(greeting: str, context: RunContext[Deps], /, punctuation: str) -> str:
        return (
            f"{greeting} {context.deps.user}{punctuation} (turn {context.turn}, {context.run_id})"
        )

    assert await who.invoke(CTX, '{"greeting": "hi", "punctuation": "!"}') == (
        "hi ann! (turn 3, run_1)"
    )


async def test_null_means_default_for_non_nullable_and_none_for_nullable() -> None:
    @tool
    def f(a: int = 5, b: int | None = 7, place: Place | None = None) -> dict[str, Any]:
        return {"a": a, "b": b, "place": place}

    assert f._arguments.nested_null_defaults is True
    out = await f.invoke(CTX, '{"a": null, "b": null, "place": {"city": "Nice", "country": null}}')
    assert json.loads(out) == {"a": 5, "b": None, "place": {"city": "Nice", "country": "FR"}}


@pytest.mark.parametrize("strict", [True, False])
async def test_null_means_default_for_top_level_parameters(strict: bool) -> None:
    @tool(strict=strict)
    def f(unit: Unit = Unit.C, days: int | None = 2, word: str = "w") -> list[Any]:
        return [unit, days, word]

    assert f._arguments.nested_null_defaults is False
    assert (
        await f.invoke(CTX, '{"unit": null, "days": null, "word": "x"}') == '["celsius",null,"x"]'
    )


async def test_omitted_optional_arguments_use_defaults() -> None:
    @tool(strict=False)
    def f(a: int = 5) -> int:
        return a

    assert await f.invoke(CTX, "{}") == "5"


@pytest.mark.parametrize("arguments", ["", "  ", "{}"])
async def test_no_argument_tool_accepts_empty_arguments(arguments: str) -> None:
    @tool
    def ping() -> str:
        return "pong"

    assert await ping.invoke(CTX, arguments) == "pong"


async def test_arguments_parsed_fresh_each_call() -> None:
    @tool
    def echo(items: list[int] = []) -> list[int]:  # noqa: B006 - the default must not be shared
        items.append(0)
        return items

    assert await echo.invoke(CTX, '{"items": null}') == "[0]"
    assert await echo.invoke(CTX, '{"items": null}') == "[0]"


# Return serialization


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Weird:
    def __str__(self) -> str:
        return "weird!"


FORECAST = Forecast(
    city="Paris",
    temps=[1.5, 2.0],
    unit=Unit.C,
    at=datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain text", "plain text"),
        ("", ""),
        ('{"already": "json"}', '{"already": "json"}'),
        (
            FORECAST,
            '{"city":"Paris","temps":[1.5,2.0],"unit":"celsius","at":"2025-01-02T03:04:05Z"}',
        ),
        (Point(1, 2), '{"x":1,"y":2}'),
        (
            {"when": datetime.date(2025, 1, 2), "unit": Unit.F},
            '{"when":"2025-01-02","unit":"fahrenheit"}',
        ),
        (
            [Point(1, 2), {"p": Place(city="Lyon")}],
            '[{"x":1,"y":2},{"p":{"city":"Lyon","country":"FR"}}]',
        ),
        (42, "42"),
        (2.5, "2.5"),
        (True, "true"),
        (None, "null"),
        ("é ☀", "é ☀"),
        ({"text": "é"}, '{"text":"é"}'),
        (Weird(), '"weird!"'),
    ],
)
async def test_return_serialization(value: Any, expected: str) -> None:
    @tool
    async def give() -> Any:
        return value

    assert await give.invoke(CTX, "{}") == expected


# Failures reported to the model


def get_weather(city: str, days: int = 1) -> str:
    """Weather."""
    if city == "Atlantis":
        raise ValueError("unknown city 'Atlantis'")
    if city == "Nowhere":
        raise RuntimeError
    return f"{city}: sunny for {days} days"


async def test_malformed_json() -> None:
    out = await tool(get_weather).invoke(CTX, "{city: Paris}")
    assert out == (
        "Error: the arguments are not valid JSON (Expecting property name enclosed in double "
        "quotes: line 1 column 2). Call get_weather again with a JSON object."
    )


async def test_truncated_json() -> None:
    out = await tool(get_weather).invoke(CTX, '{"city": ')
    assert out == (
        "Error: the arguments are not valid JSON (Expecting value: line 1 column 10). "
        "Call get_weather again with a JSON object."
    )


async def test_arguments_not_an_object() -> None:
    out = await tool(get_weather).invoke(CTX, '["Paris"]')
    assert out == (
        "Error: the arguments must be a JSON object, not list. "
        "Call get_weather again with a JSON object."
    )


async def test_validation_errors_list_every_field() -> None:
    out = await tool(get_weather).invoke(CTX, '{"days": "many", "extra": 1}')
    assert out == (
        "Error: the arguments for get_weather are invalid:\n"
        "- city: Field required\n"
        "- days: Input should be a valid integer, unable to parse string as an integer "
        '(got "many")\n'
        "- extra: Extra inputs are not permitted (got 1)\n"
        "Call get_weather again with corrected arguments."
    )


async def test_validation_error_paths_into_nested_values() -> None:
    @tool
    def route(stops: list[Place]) -> None: ...

    out = await route.invoke(
        CTX, '{"stops": [{"city": "A", "country": "FR"}, {"city": 3, "country": "FR"}]}'
    )
    assert out == (
        "Error: the arguments for route are invalid:\n"
        "- stops[1].city: Input should be a valid string (got 3)\n"
        "Call route again with corrected arguments."
    )


async def test_huge_invalid_input_is_shortened() -> None:
    out = await tool(get_weather).invoke(CTX, json.dumps({"city": "x", "days": "n" * 500}))
    assert out.endswith(f'(got "{"n" * 199}...)\nCall get_weather again with corrected arguments.')


async def test_raising_tool() -> None:
    out = await tool(get_weather).invoke(CTX, '{"city": "Atlantis"}')
    assert out == "Error: get_weather raised ValueError: unknown city 'Atlantis'"


async def test_raising_tool_without_message() -> None:
    out = await tool(get_weather).invoke(CTX, '{"city": "Nowhere"}')
    assert out == "Error: get_weather raised RuntimeError"


async def test_async_timeout() -> None:
    @tool(timeout=0.05)
    async def slow() -> str:
        await asyncio.sleep(10)
        return "done"

    assert await slow.invoke(CTX, "{}") == "Error: slow timed out after 0.05 s"


async def test_sync_timeout() -> None:
    @tool(name="get_weather", timeout=0.01)
    def slow() -> str:
        time.sleep(0.2)
        return "done"

    assert await slow.invoke(CTX, "{}") == "Error: get_weather timed out after 0.01 s"


async def test_a_stuck_sync_tool_holds_up_no_later_call() -> None:
    release = threading.Event()

    @tool(timeout=0.05)
    def stuck() -> str:
        release.wait(60)
        return "late"

    @tool
    def quick() -> str:
        return "quick"

    try:
        assert await stuck.invoke(CTX, "{}") == "Error: stuck timed out after 0.05 s"
        assert await quick.invoke(CTX, "{}") == "quick"  # on another worker thread
        assert await stuck.invoke(CTX, "{}") == "Error: stuck timed out after 0.05 s"
    finally:
        release.set()


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST_ID", default="none")


async def test_a_sync_tool_sees_the_callers_context_variables() -> None:
    @tool
    def which() -> str:
        return REQUEST_ID.get()

    REQUEST_ID.set("req-7")
    assert await which.invoke(CTX, "{}") == "req-7"


async def test_timeout_error_raised_by_the_tool_is_not_our_timeout() -> None:
    @tool(timeout=5)
    async def upstream() -> str:
        raise TimeoutError("upstream took too long")

    assert await upstream.invoke(CTX, "{}") == (
        "Error: upstream raised TimeoutError: upstream took too long"
    )


class Broken(BaseModel):
    x: int

    @pydantic.field_serializer("x")
    def refuse(self, value: int) -> int:
        raise ValueError("nope")


async def test_unserializable_return_value() -> None:
    @tool
    def broken() -> Broken:
        return Broken(x=1)

    assert await broken.invoke(CTX, "{}") == (
        "Error: broken returned a value that is not JSON: Error serializing to JSON: "
        "PydanticSerializationError: Error calling function `refuse`: ValueError: nope"
    )


async def test_cancellation_propagates() -> None:
    @tool
    async def forever() -> None:
        await asyncio.Event().wait()

    task = asyncio.create_task(forever.invoke(CTX, "{}"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# raise_errors=True


async def test_raise_errors_on_raising_tool() -> None:
    t = tool(raise_errors=True)(get_weather)
    with pytest.raises(ToolError) as info:
        await t.invoke(CTX, '{"city": "Atlantis"}', call_id="call_1")
    assert str(info.value) == "get_weather raised ValueError: unknown city 'Atlantis'"
    assert (info.value.tool_name, info.value.call_id) == ("get_weather", "call_1")
    assert isinstance(info.value.__cause__, ValueError)


async def test_raise_errors_on_malformed_json() -> None:
    t = tool(raise_errors=True)(get_weather)
    with pytest.raises(ToolError) as info:
        await t.invoke(CTX, "{", call_id="call_2")
    assert str(info.value).startswith("the arguments are not valid JSON (")
    assert info.value.call_id == "call_2"
    assert isinstance(info.value.__cause__, json.JSONDecodeError)


async def test_raise_errors_on_validation_error() -> None:
    t = tool(raise_errors=True)(get_weather)
    with pytest.raises(ToolError) as info:
        await t.invoke(CTX, "{}")
    assert str(info.value) == (
        "the arguments for get_weather are invalid:\n- city: Field required\n"
        "Call get_weather again with corrected arguments."
    )
    assert info.value.call_id is None
    assert isinstance(info.value.__cause__, pydantic.ValidationError)


async def test_raise_errors_on_timeout() -> None:
    @tool(raise_errors=True, timeout=0.01)
    async def slow() -> None:
        await asyncio.sleep(10)

    with pytest.raises(ToolError, match=r"^slow timed out after 0\.01 s$") as info:
        await slow.invoke(CTX, "{}", call_id="c")
    assert isinstance(info.value.__cause__, TimeoutError)


async def test_raise_errors_on_non_object_arguments() -> None:
    t = tool(raise_errors=True)(get_weather)
    with pytest.raises(ToolError, match=r"^the arguments must be a JSON object, not int\.") as info:
        await t.invoke(CTX, "3")
    assert info.value.__cause__ is None
