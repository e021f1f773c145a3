"""The engines over real HTTP: `auto`'s documented policies and `scripted`'s queue and control API."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Literal

import httpx2
import jsonschema
import openai
import pytest
from openai import OpenAI
from openai.types.responses import Response
from pydantic import BaseModel

from agentkit.server import LocalServer
from agentkit.server.engines import Call, Fail, Raw, Say, Think
from agentkit.server.engines.auto import mentioned_tools, name_words
from agentkit.server.engines.instances import Seeds, instance_for


def function(
    name: str, properties: dict[str, Any] | None = None, *, strict: bool = True
) -> dict[str, Any]:
    """A function tool whose parameters are a closed object with every property required."""
    properties = properties or {}
    return {
        "type": "function",
        "name": name,
        "parameters": {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        },
        "strict": strict,
    }


WEATHER = function(
    "get_weather",
    {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
)
ADD = function("add_numbers", {"a": {"type": "integer"}, "b": {"type": "integer"}})
STOCK = {
    "type": "function",
    "name": "getStockPrice",
    "parameters": {"type": "object", "properties": {"ticker": {"type": "string"}}},
    "strict": False,
}
TOOLS: list[Any] = [WEATHER, ADD, STOCK]


def calls(response: Response) -> list[tuple[str, Any]]:
    """(name, decoded arguments) of each function call, in output order."""
    return [
        (item.name, json.loads(item.arguments))
        for item in response.output
        if item.type == "function_call"
    ]


def kinds(response: Response) -> list[str]:
    return [item.type for item in response.output]


# --- auto: which tools a message triggers -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("get_weather", {"weather"}),
        ("getStockPrice", {"stock", "price"}),
        ("send-email_now", {"send", "email"}),
        ("HTTPRequestSender", {"http", "request", "sender"}),
        ("add", set()),
        ("get_map", set()),
    ],
)
def test_name_words_split_on_separators_and_camel_case_and_skip_short_words(
    name: str, words: set[str]
) -> None:
    assert name_words(name) == words


def test_mentioned_tools_match_whole_words_case_insensitively_in_tool_order() -> None:
    tools = [{"name": "getStockPrice"}, {"name": "get_weather"}, {"name": "add_numbers"}]
    assert mentioned_tools(tools, "WEATHER and the Price, please") == tools[:2]
    assert mentioned_tools(tools, "a weathered stocking") == []
    assert mentioned_tools(tools, "get add") == []


def test_a_word_of_a_tool_name_in_the_user_message_calls_it(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o", input="What's the weather in San Francisco?", tools=TOOLS
    )
    assert kinds(response) == ["function_call"]
    assert calls(response) == [("get_weather", {"city": "San Francisco", "unit": "celsius"})]
    assert response.output[0].call_id.startswith("call_")  # type: ignore[union-attr]


def test_only_the_latest_user_message_triggers_tools(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o",
        input=[
            {"role": "user", "content": "What's the weather in Paris?"},
            {"role": "assistant", "content": "Sunny."},
            {"role": "user", "content": "Thanks!"},
        ],
        tools=TOOLS,
    )
    assert kinds(response) == ["message"]


def test_no_tool_named_means_a_plain_answer(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o", input="Add them up and get the map", tools=TOOLS
    )
    assert kinds(response) == ["message"]
    assert response.output_text == 'You said: "Add them up and get the map".'


def test_tool_choice_none_never_calls(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o", input="weather in Oslo", tools=TOOLS, tool_choice="none"
    )
    assert kinds(response) == ["message"]
    assert response.output_text == 'You said: "weather in Oslo".'


def test_tool_choice_required_calls_the_first_tool_when_none_is_named(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o", input="hello", tools=[ADD, WEATHER], tool_choice="required"
    )
    assert calls(response) == [("add_numbers", {"a": 1, "b": 1})]


def test_tool_choice_required_calls_the_named_tools(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o", input="weather in Rome", tools=[ADD, WEATHER], tool_choice="required"
    )
    assert calls(response) == [("get_weather", {"city": "Rome", "unit": "celsius"})]


def test_tool_choice_function_calls_that_tool_only(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o",
        input="weather and stock for 7 and 8",
        tools=TOOLS,
        tool_choice={"type": "function", "name": "add_numbers"},
    )
    assert calls(response) == [("add_numbers", {"a": 7, "b": 8})]


def test_several_named_tools_are_called_in_parallel_in_tool_order(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o", input="The stock price and the weather for Paris", tools=TOOLS
    )
    assert calls(response) == [
        ("get_weather", {"city": "Paris", "unit": "celsius"}),
        ("getStockPrice", {"ticker": "example ticker"}),
    ]
    call_ids = [item.call_id for item in response.output if item.type == "function_call"]
    assert len(set(call_ids)) == 2


def test_parallel_tool_calls_false_calls_one_tool(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o",
        input="The stock price and the weather for Paris",
        tools=TOOLS,
        parallel_tool_calls=False,
    )
    assert calls(response) == [("get_weather", {"city": "Paris", "unit": "celsius"})]
    assert response.parallel_tool_calls is False


def test_max_tool_calls_caps_the_calls(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o", input="stock and weather", tools=TOOLS, max_tool_calls=1
    )
    assert [name for name, _ in calls(response)] == ["get_weather"]


# --- auto: arguments ---------------------------------------------------------------------------


def test_numbers_come_from_the_users_text_in_order(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o", input="Please add the numbers 2 and 3", tools=[ADD]
    )
    assert calls(response) == [("add_numbers", {"a": 2, "b": 3})]


def test_capitalised_phrases_and_named_enum_values_fill_strings(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o", input="What is the weather in New York in fahrenheit?", tools=[WEATHER]
    )
    assert calls(response) == [("get_weather", {"city": "New York", "unit": "fahrenheit"})]


def test_parallel_calls_share_the_seeds_in_order(client: OpenAI) -> None:
    multiply = function("multiply_numbers", {"x": {"type": "number"}, "y": {"type": "number"}})
    response = client.responses.create(
        model="gpt-4o",
        input="add the numbers 2 and 3, then multiply 2.5 by -4",
        tools=[ADD, multiply],
    )
    assert calls(response) == [
        ("add_numbers", {"a": 2, "b": 3}),
        ("multiply_numbers", {"x": 2.5, "y": -4}),
    ]


POINT = {
    "type": "object",
    "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
    "required": ["x", "y"],
    "additionalProperties": False,
}
ADDRESS = {
    "type": "object",
    "properties": {"street": {"type": "string"}, "zip": {"type": "string", "minLength": 5}},
    "required": ["street"],
}

ARGUMENT_CASES: list[tuple[str, dict[str, Any], bool, str, dict[str, Any]]] = [
    (
        "enum named in text",
        {"unit": {"type": "string", "enum": ["celsius", "fahrenheit", "kelvin"]}},
        True,
        "in Kelvin please",
        {"unit": "kelvin"},
    ),
    (
        "enum not named",
        {"unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        True,
        "no unit here",
        {"unit": "celsius"},
    ),
    (
        "nested objects",
        {
            "order": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "customer": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "vip": {"type": "boolean"}},
                        "required": ["name", "vip"],
                        "additionalProperties": False,
                    },
                },
                "required": ["id", "customer"],
                "additionalProperties": False,
            }
        },
        True,
        "order 42 for Ada Lovelace",
        {"order": {"id": 42, "customer": {"name": "Ada Lovelace", "vip": True}}},
    ),
    (
        "arrays",
        {
            "items": {"type": "array", "items": {"type": "string"}},
            "counts": {"type": "array", "items": {"type": "integer"}, "minItems": 2},
        },
        True,
        'pack "red socks" in 2 or 5 boxes',
        {"items": ["red socks"], "counts": [2, 5]},
    ),
    (
        "$defs and $ref",
        {"start": {"$ref": "#/$defs/Point"}, "end": {"$ref": "#/$defs/Point"}},
        True,
        "from 1.5, 2 to -3, 4",
        {"start": {"x": 1.5, "y": 2}, "end": {"x": -3, "y": 4}},
    ),
    (
        "anyOf nullable",
        {
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "limit": {"type": ["integer", "null"]},
            "point": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/Point"}]},
        },
        True,
        "a limit of 10",
        {"note": "example note", "limit": 10, "point": {"x": 1, "y": 1}},
    ),
    (
        "bounds, multiples and formats",
        {
            "when": {"type": "string", "format": "date"},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "count": {"type": "integer", "minimum": 12, "multipleOf": 5},
            "page": {"type": "integer", "minimum": 1, "maximum": 50},
        },
        True,
        "page 0 please",
        {"when": "2026-01-01", "ratio": 0.5, "count": 15, "page": 1},
    ),
    (
        "non-strict optional properties, lengths and allOf",
        {
            "query": {"type": "string", "minLength": 3, "maxLength": 8},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
            "address": {"allOf": [{"$ref": "#/$defs/Address"}], "description": "where"},
        },
        False,
        'search for "ab" near Baker Street',
        {
            "query": "abx",
            "tags": ["Baker Street"],
            "address": {"street": "example street", "zip": "example zip"},
        },
    ),
]


@pytest.mark.parametrize(
    ("properties", "strict", "text", "expected"),
    [case[1:] for case in ARGUMENT_CASES],
    ids=[case[0] for case in ARGUMENT_CASES],
)
def test_arguments_are_valid_under_the_tools_schema(
    client: OpenAI, properties: dict[str, Any], strict: bool, text: str, expected: dict[str, Any]
) -> None:
    tool = function("lookup", properties, strict=strict)
    tool["parameters"]["$defs"] = {"Point": POINT}
    if not strict:
        tool["parameters"]["$defs"]["Address"] = ADDRESS
        tool["parameters"]["required"] = ["query"]
    response = client.responses.create(
        model="gpt-4o",
        input=text,
        tools=[tool],
        tool_choice={"type": "function", "name": "lookup"},
    )
    assert response.tools[0].strict is strict  # type: ignore[union-attr]
    [(name, arguments)] = calls(response)
    jsonschema.Draft202012Validator(tool["parameters"]).validate(arguments)
    assert (name, arguments) == ("lookup", expected)


def test_instances_are_deterministic_and_do_not_mutate_the_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "s": {"type": "string"}}}
    copy = json.loads(json.dumps(schema))
    first = instance_for(schema, Seeds.from_text("set 5 for Oslo"))
    assert first == instance_for(schema, Seeds.from_text("set 5 for Oslo")) == {"n": 5, "s": "Oslo"}
    assert schema == copy


def test_seeds_skip_sentence_starts_and_joined_minus_signs() -> None:
    seeds = Seeds.from_text('Weather for gpt-4o in Los Angeles. Then "the docs" and MSFT at -2.5')
    assert seeds.numbers == [4.0, -2.5]
    assert seeds.phrases == ["Los Angeles", "the docs", "MSFT"]


# --- auto: after tool outputs ------------------------------------------------------------------


def test_tool_outputs_are_quoted_in_the_answer_with_previous_response_id(client: OpenAI) -> None:
    first = client.responses.create(
        model="gpt-4o", input="The stock price and the weather for Paris", tools=TOOLS
    )
    call_ids = [item.call_id for item in first.output if item.type == "function_call"]
    second = client.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        input=[
            {"type": "function_call_output", "call_id": call_ids[0], "output": "Sunny, 21 °C"},
            {"type": "function_call_output", "call_id": call_ids[1], "output": '{"price": 412.5}'},
        ],
        tools=TOOLS,
    )
    assert kinds(second) == ["message"]
    assert second.output_text == (
        "Here is what the tools returned: get_weather returned Sunny, 21 °C; getStockPrice "
        'returned {"price": 412.5}.'
    )


def test_tool_outputs_are_quoted_in_the_answer_with_items_sent_by_value(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o",
        store=False,
        input=[
            {"role": "user", "content": "add the numbers 2 and 3"},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "add_numbers",
                "arguments": "{}",
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "5"},
        ],
        tools=[ADD],
    )
    assert response.output_text == "Here is what the tools returned: add_numbers returned 5."


def test_tool_choice_required_keeps_calling_after_outputs(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o",
        store=False,
        input=[
            {"role": "user", "content": "add the numbers 2 and 3"},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "add_numbers",
                "arguments": "{}",
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "5"},
        ],
        tools=[ADD],
        tool_choice="required",
    )
    assert calls(response) == [("add_numbers", {"a": 2, "b": 3})]


# --- auto: structured output and text ----------------------------------------------------------


class Unit(StrEnum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Place(BaseModel):
    city: str
    country: str | None


class Forecast(BaseModel):
    place: Place
    unit: Unit
    days: int
    highs: list[float]
    outlook: Literal["sunny", "rainy"]
    note: str | None


def test_json_schema_output_parses_into_the_pydantic_model(client: OpenAI) -> None:
    parsed = client.responses.parse(
        model="gpt-4o",
        input="Forecast for the next 3 days in Lisbon, in fahrenheit, rainy or not",
        text_format=Forecast,
    )
    assert parsed.output_parsed == Forecast(
        place=Place(city="Lisbon", country="example country"),
        unit=Unit.FAHRENHEIT,
        days=3,
        highs=[1.0],
        outlook="rainy",
        note="example note",
    )


def test_non_strict_json_schema_output_is_valid_under_the_schema(client: OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "score": {"type": "number", "minimum": 0, "maximum": 10},
            "labels": {"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 2},
        },
        "required": ["title"],
    }
    response = client.responses.create(
        model="gpt-4o",
        input="Rate Dune 11 out of 10",
        text={"format": {"type": "json_schema", "name": "rating", "schema": schema}},
    )
    value = json.loads(response.output_text)
    jsonschema.Draft202012Validator(schema).validate(value)
    assert value == {"title": "Dune", "score": 1, "labels": ["a", "a"]}


def test_json_object_format_answers_with_an_object(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o", input="Reply in JSON", text={"format": {"type": "json_object"}}
    )
    assert json.loads(response.output_text) == {"answer": "Reply in JSON"}


def test_plain_text_is_deterministic(client: OpenAI) -> None:
    texts = {
        client.responses.create(model="gpt-4o", input="Tell me about Lisbon").output_text
        for _ in range(3)
    }
    assert texts == {'You said: "Tell me about Lisbon".'}


def test_plain_text_mentions_the_earlier_conversation(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-4o", input="Hi there")
    second = client.responses.create(
        model="gpt-4o", previous_response_id=first.id, input="And now?"
    )
    third = client.responses.create(model="gpt-4o", previous_response_id=second.id, input="Bye")
    assert second.output_text == (
        'You said: "And now?". Earlier in this conversation you sent 1 message, starting with '
        '"Hi there".'
    )
    assert third.output_text.endswith('you sent 2 messages, starting with "Hi there".')


def test_long_messages_are_shortened_in_the_reply(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o", input="word " * 40)
    assert response.output_text == 'You said: "' + ("word " * 16)[:79] + '…".'


def test_no_user_message_gets_a_greeting(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o", input=[{"role": "developer", "content": "Be brief."}]
    )
    assert response.output_text == "Hello! What can I do for you?"


# --- auto: reasoning models --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "reasons"),
    [("o1", True), ("o3-mini", True), ("o4-mini", True), ("gpt-5-nano", True), ("gpt-4o", False)],
)
def test_reasoning_models_add_a_reasoning_item(client: OpenAI, model: str, reasons: bool) -> None:
    response = client.responses.create(model=model, input="Hello")
    assert kinds(response) == (["reasoning", "message"] if reasons else ["message"])
    assert response.usage is not None
    assert (response.usage.output_tokens_details.reasoning_tokens > 0) is reasons


def test_the_reasoning_summary_says_what_the_model_will_do(client: OpenAI) -> None:
    response = client.responses.create(
        model="o4-mini",
        input="The stock price and the weather for Paris",
        tools=TOOLS,
        reasoning={"effort": "low", "summary": "auto"},
    )
    assert kinds(response) == ["reasoning", "function_call", "function_call"]
    summary = response.output[0].summary  # type: ignore[union-attr]
    assert [part.text for part in summary] == [
        "To answer this I will call get_weather and getStockPrice."
    ]
    # 16 + 2 * ceil(57 / 4): the documented approximation.
    assert response.usage is not None
    assert response.usage.output_tokens_details.reasoning_tokens == 46


def test_the_reasoning_summary_is_empty_unless_asked_for(client: OpenAI) -> None:
    response = client.responses.create(model="o3", input="Hello")
    assert response.output[0].type == "reasoning"
    assert response.output[0].summary == []


# --- scripted ----------------------------------------------------------------------------------


def test_scripted_plays_queued_steps_in_order(
    scripted: LocalServer, scripted_client: OpenAI
) -> None:
    scripted.scripted.queue(
        Say("First answer."),
        [Call("get_weather", '{"city": "Paris"}', "call_a"), Call("add_numbers", '{"a": 1}')],
        Fail(
            429,
            "Slow down.",
            type="requests",
            code="rate_limit_exceeded",
            headers={"retry-after-ms": "5"},
        ),
    )
    first = scripted_client.responses.create(model="gpt-4o", input="hi")
    assert kinds(first) == ["message"]
    assert first.output_text == "First answer."

    second = scripted_client.responses.create(model="gpt-4o", input="again")
    assert calls(second) == [("get_weather", {"city": "Paris"}), ("add_numbers", {"a": 1})]
    assert second.output[0].call_id == "call_a"  # type: ignore[union-attr]
    assert second.output[1].call_id.startswith("call_")  # type: ignore[union-attr]

    with pytest.raises(openai.RateLimitError) as caught:
        scripted_client.responses.create(model="gpt-4o", input="third")
    error = caught.value
    assert error.status_code == 429
    assert error.body == {
        "message": "Slow down.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert error.response.headers["retry-after-ms"] == "5"
    assert scripted.scripted.pending() == {}


def test_scripted_model_queues_come_before_the_global_queue(
    scripted: LocalServer, scripted_client: OpenAI
) -> None:
    engine = scripted.scripted
    engine.queue(Say("global 1"), Say("global 2"))
    engine.queue(Say("mini 1"), model="gpt-4o-mini")
    assert engine.pending() == {"*": 2, "gpt-4o-mini": 1}

    def say(model: str) -> str:
        return scripted_client.responses.create(model=model, input="x").output_text

    assert [say("gpt-4o"), say("gpt-4o-mini"), say("gpt-4o-mini")] == [
        "global 1",
        "mini 1",
        "global 2",
    ]


def test_scripted_delivers_malformed_arguments_and_unknown_tools_verbatim(
    scripted: LocalServer, scripted_client: OpenAI
) -> None:
    scripted.scripted.queue([Call("no_such_tool", '{"a": 1,'), Call("add_numbers", "not json")])
    response = scripted_client.responses.create(model="gpt-4o", input="x", tools=[ADD])
    assert [(i.name, i.arguments) for i in response.output if i.type == "function_call"] == [
        ("no_such_tool", '{"a": 1,'),
        ("add_numbers", "not json"),
    ]


def test_scripted_streams_malformed_arguments_verbatim(
    scripted: LocalServer, scripted_client: OpenAI
) -> None:
    scripted.scripted.queue(Call("no_such_tool", '{"city": "Par'))
    with scripted_client.responses.stream(model="gpt-4o", input="x") as stream:
        events = list(stream)
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    [done] = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert deltas == done.arguments == '{"city": "Par'
    assert "name" not in (done.model_extra or {})  # as live: the name is on the item only


def test_scripted_empty_queue_is_a_clear_400(scripted_client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        scripted_client.responses.create(model="gpt-4o", input="x")
    assert caught.value.body == {
        "message": "The scripted engine has no queued output for model 'gpt-4o'.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "scripted_queue_empty",
    }


def test_scripted_server_errors_carry_status_type_and_headers(
    scripted: LocalServer, scripted_client: OpenAI
) -> None:
    scripted.scripted.queue(Fail(503, "Overloaded.", code="overloaded", headers={"x-test": "1"}))
    with pytest.raises(openai.InternalServerError) as caught:
        scripted_client.responses.create(model="gpt-4o", input="x")
    assert caught.value.status_code == 503
    assert caught.value.body == {
        "message": "Overloaded.",
        "type": "server_error",
        "param": None,
        "code": "overloaded",
    }
    assert caught.value.response.headers["x-test"] == "1"


def test_scripted_reasoning_and_raw_items(scripted: LocalServer, scripted_client: OpenAI) -> None:
    scripted.scripted.queue(
        [
            Think("Plan first."),
            Raw(
                {
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "id": "msg_raw",
                    "content": [{"type": "output_text", "text": "raw", "annotations": []}],
                }
            ),
        ]
    )
    response = scripted_client.responses.create(
        model="o3", input="x", reasoning={"summary": "detailed"}
    )
    assert kinds(response) == ["reasoning", "message"]
    assert [p.text for p in response.output[0].summary] == ["Plan first."]  # type: ignore[union-attr]
    assert response.output[1].id == "msg_raw"
    assert response.output_text == "raw"


def test_a_reasoning_model_gets_a_reasoning_item_before_scripted_output(
    scripted: LocalServer, scripted_client: OpenAI
) -> None:
    scripted.scripted.queue(Say("done"))
    response = scripted_client.responses.create(
        model="gpt-5", input="x", reasoning={"summary": "auto"}
    )
    assert kinds(response) == ["reasoning", "message"]
    assert [p.text for p in response.output[0].summary] == ["Considering the request."]  # type: ignore[union-attr]


# --- scripted: the HTTP control endpoint -------------------------------------------------------


def test_the_control_endpoint_queues_lists_and_clears(
    scripted: LocalServer, scripted_client: OpenAI
) -> None:
    with httpx2.Client(base_url=scripted.url) as http:
        posted = http.post(
            "/_agentkit/scripted/queue",
            json=[
                {"output": [{"type": "message", "text": "from HTTP"}]},
                {
                    "output": [
                        {"type": "reasoning", "summary": "Because."},
                        {"type": "function_call", "name": "add_numbers", "arguments": {"a": 1}},
                        {
                            "type": "function_call",
                            "name": "bad",
                            "arguments": "{oops",
                            "call_id": "call_x",
                        },
                    ]
                },
                {"output": [{"type": "message", "text": "mini only"}], "model": "gpt-4o-mini"},
                {"error": {"status": 429, "message": "Later.", "headers": {"retry-after": "1"}}},
            ],
        )
        assert posted.status_code == 200
        assert posted.json() == {"queued": 4, "pending": {"*": 3, "gpt-4o-mini": 1}}
        assert http.get("/_agentkit/scripted/queue").json() == {
            "pending": {"*": 3, "gpt-4o-mini": 1}
        }

        assert scripted_client.responses.create(model="gpt-4o-mini", input="x").output_text == (
            "mini only"
        )
        assert scripted_client.responses.create(model="gpt-4o", input="x").output_text == (
            "from HTTP"
        )
        second = scripted_client.responses.create(
            model="o3", input="x", reasoning={"summary": "auto"}
        )
        assert [p.text for p in second.output[0].summary] == ["Because."]  # type: ignore[union-attr]
        assert [(i.name, i.arguments, i.call_id) for i in second.output[1:]] == [  # type: ignore[union-attr]
            ("add_numbers", '{"a": 1}', second.output[1].call_id),  # type: ignore[union-attr]
            ("bad", "{oops", "call_x"),
        ]
        with pytest.raises(openai.RateLimitError) as caught:
            scripted_client.responses.create(model="gpt-4o", input="x")
        assert caught.value.body == {
            "message": "Later.",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
        assert caught.value.response.headers["retry-after"] == "1"

        http.post("/_agentkit/scripted/queue", json={"output": [{"type": "message", "text": "x"}]})
        assert http.get("/_agentkit/scripted/queue").json() == {"pending": {"*": 1}}
        assert http.delete("/_agentkit/scripted/queue").json() == {"pending": {}}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("nope", "Step [0] must be an object."),
        ({"output": []}, "Step [0] needs a non-empty 'output' array or an 'error' object."),
        ({"error": {"status": 200}}, "Step [0].error.status must be between 400 and 599."),
        ({"error": {}}, "Step [0].error needs an integer 'status'."),
        (
            [{"output": [{"type": "message", "text": "ok"}]}, {"output": [{"type": "image"}]}],
            "Output [1].output[0] has type 'image'; expected message, function_call, reasoning, "
            "image_generation_call, mcp_call, code_interpreter_call, raw, or one of the controls "
            "wait, pace, queued, error, drop, stall, malformed.",
        ),
        (
            {"output": [{"type": "function_call"}]},
            "Output [0].output[0] is missing or has a bad field: 'name'.",
        ),
    ],
)
def test_the_control_endpoint_rejects_bad_steps_without_queueing_any(
    scripted: LocalServer, payload: Any, message: str
) -> None:
    with httpx2.Client(base_url=scripted.url) as http:
        answer = http.post("/_agentkit/scripted/queue", json=payload)
        assert answer.status_code == 400
        assert answer.json()["error"]["message"] == message
        assert http.get("/_agentkit/scripted/queue").json() == {"pending": {}}


def test_recorded_requests_redact_mcp_credentials(
    scripted: LocalServer, scripted_client: OpenAI
) -> None:
    scripted.scripted.queue(Say("one"))
    scripted_client.responses.create(model="gpt-4o", input="first", metadata={"k": "v"})
    mcp = {
        "type": "mcp",
        "server_label": "docs",
        "server_url": "http://127.0.0.1:9/mcp",  # refused at once, should MCP be tried
        "headers": {"Authorization": "Bearer secret-token"},
        "authorization": "oauth-secret",
        "require_approval": "never",
    }
    with pytest.raises(openai.APIStatusError):  # the queue is empty (or MCP is refused)
        scripted_client.responses.create(model="gpt-4o", input="second", tools=[mcp])  # type: ignore[list-item]

    recorded = scripted.requests
    assert [r["input"] for r in recorded] == ["first", "second"]
    assert recorded[0] == {"model": "gpt-4o", "input": "first", "metadata": {"k": "v"}}
    assert recorded[1]["tools"] == [{**mcp, "headers": "<redacted>", "authorization": "<redacted>"}]
    assert "secret" not in json.dumps(recorded)

    with httpx2.Client(base_url=scripted.url) as http:
        listed = http.get("/_agentkit/requests").json()
        assert listed == {"object": "list", "data": recorded}
        assert http.delete("/_agentkit/requests").json() == {"object": "list", "data": []}
    assert scripted.requests == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_agentkit/scripted/queue"),
        ("POST", "/_agentkit/scripted/queue"),
        ("DELETE", "/_agentkit/scripted/queue"),
        ("GET", "/_agentkit/requests"),
        ("DELETE", "/_agentkit/requests"),
    ],
)
def test_the_control_endpoints_exist_only_with_the_scripted_engine(
    server: LocalServer, method: str, path: str
) -> None:
    with httpx2.Client(base_url=server.url) as http:
        answer = http.request(method, path, json=[] if method == "POST" else None)
    assert answer.status_code == 404
    assert answer.json()["error"]["type"] == "invalid_request_error"


def test_the_scripted_property_refuses_other_engines(server: LocalServer) -> None:
    with pytest.raises(TypeError, match="engine='scripted'"):
        _ = server.scripted
