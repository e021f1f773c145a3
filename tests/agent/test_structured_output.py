"""Structured output: the strict json_schema text format sent, answers parsed, bad ones retried."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pydantic
import pytest
from typing_extensions import TypedDict

from agentkit import OutputValidationError, RunState
from agentkit.server import LocalServer
from agentkit.server.plan import Say

from .conftest import AgentFactory


class Weather(pydantic.BaseModel):
    city: str
    temperature: int


class Person(TypedDict):
    name: str
    tags: list[str]


@dataclass
class Point:
    x: float
    visible: bool


def strict_object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def wrapped(schema: dict[str, Any]) -> dict[str, Any]:
    return strict_object({"result": schema}, ["result"])


CASES = [
    pytest.param(
        Weather,
        "Weather",
        strict_object(
            {"city": {"type": "string"}, "temperature": {"type": "integer"}},
            ["city", "temperature"],
        ),
        Weather(city="Paris", temperature=21),
        id="pydantic",
    ),
    pytest.param(
        Person,
        "Person",
        strict_object(
            {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
            ["name", "tags"],
        ),
        {"name": "Paris", "tags": ["example tags"]},
        id="typeddict",
    ),
    pytest.param(
        Point,
        "Point",
        strict_object({"x": {"type": "number"}, "visible": {"type": "boolean"}}, ["x", "visible"]),
        Point(x=21.0, visible=True),
        id="dataclass",
    ),
    pytest.param(int, "int", wrapped({"type": "integer"}), 21, id="int"),
    pytest.param(
        list[str],
        "list",
        wrapped({"type": "array", "items": {"type": "string"}}),
        ["Paris"],
        id="list-of-str",
    ),
]


@pytest.mark.parametrize(("output_type", "name", "schema", "expected"), CASES)
async def test_output_type_is_asked_for_strictly_and_parsed(
    server: LocalServer,
    agent: AgentFactory,
    output_type: Any,
    name: str,
    schema: dict[str, Any],
    expected: Any,
) -> None:
    result = await agent(output_type=output_type).run("Weather in Paris, 21 degrees")

    (body,) = server.requests
    assert body["text"] == {
        "format": {"type": "json_schema", "name": name, "schema": schema, "strict": True}
    }
    assert result.output == expected
    assert type(result.output) is type(expected)
    assert len(result.response_ids) == 1


@pytest.mark.parametrize(
    ("output_type", "answer", "expected"),
    [
        (Weather, '{"city": "Oslo", "temperature": -3}', Weather(city="Oslo", temperature=-3)),
        (int, '{"result": 42}', 42),
        (list[str], '{"result": ["a", "b"]}', ["a", "b"]),
    ],
)
async def test_answer_is_parsed_exactly(
    scripted: LocalServer,
    scripted_agent: AgentFactory,
    output_type: Any,
    answer: str,
    expected: Any,
) -> None:
    scripted.scripted.queue(Say(answer))
    result = await scripted_agent(output_type=output_type).run("answer")
    assert result.output == expected
    assert result.output_text == answer


@pytest.mark.parametrize("chaining", ["previous_response_id", "items"])
async def test_invalid_answer_is_sent_back_with_the_errors(
    scripted: LocalServer, scripted_agent: AgentFactory, chaining: str
) -> None:
    scripted.scripted.queue(
        Say("not json"),
        Say('{"city": "Oslo", "temperature": "cold"}'),
        Say('{"city": "Oslo", "temperature": -3}'),
    )
    result = await scripted_agent(output_type=Weather, chaining=chaining).run("weather in Oslo")

    assert result.output == Weather(city="Oslo", temperature=-3)
    assert len(scripted.requests) == 3
    first_fix = {
        "type": "message",
        "role": "user",
        "content": [
            {
                "type": "input_text",
                "text": "Your last answer did not match the required JSON schema ((root): Invalid JSON: "
                "expected ident at line 1 column 2). Answer again with only JSON that "
                "matches the schema.",
            }
        ],
    }
    second_fix = {
        "type": "message",
        "role": "user",
        "content": [
            {
                "type": "input_text",
                "text": "Your last answer did not match the required JSON schema (temperature: "
                "Input should be a valid integer, unable to parse string as an integer). "
                "Answer again with only JSON that matches the schema.",
            }
        ],
    }
    second, third = scripted.requests[1:]
    if chaining == "previous_response_id":
        assert second["previous_response_id"] == result.response_ids[0]
        assert second["input"] == [first_fix]
        assert third["previous_response_id"] == result.response_ids[1]
        assert third["input"] == [second_fix]
    else:
        assert "previous_response_id" not in second
        assert [i["type"] for i in third["input"]] == ["message"] * 5
        assert third["input"][2] == first_fix
        assert third["input"][4] == second_fix
    assert [i.get("role") for i in result.new_items] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
    ]


async def test_exhausted_output_retries_raise_with_the_state(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(Say("nope"), Say('{"result": "x"}'), Say("never asked"))
    with pytest.raises(OutputValidationError, match="did not match the output type") as caught:
        await scripted_agent(output_type=int, output_retries=1).run("a number")

    assert len(scripted.requests) == 2
    state = caught.value.state
    assert isinstance(state, RunState)
    assert state.output_retries == 1
    assert [i.get("role") for i in state.new_items] == ["user", "assistant", "user", "assistant"]
    assert scripted.scripted.pending() == {"*": 1}


async def test_zero_output_retries_raise_on_the_first_bad_answer(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(Say("[]"))
    with pytest.raises(OutputValidationError):
        await scripted_agent(output_type=Weather, output_retries=0).run("weather")
    assert len(scripted.requests) == 1
