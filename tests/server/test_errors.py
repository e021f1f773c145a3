"""Every malformed request gets the service's error, in its shape, over real HTTP; never a 500."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from openai import OpenAI

from agentkit.server import LocalServer
from agentkit.server.errors import listed
from agentkit.server.hosted import HOSTED_TOOLS
from agentkit.server.plan import Raw
from agentkit.server.protocol.items import ITEM_NORMALIZERS

UNPARSEABLE = (
    "We could not parse the JSON body of your request. The API expects a JSON payload, "
    "but what was sent was not valid JSON."
)
ITEM_TYPES = listed(sorted(ITEM_NORMALIZERS))
"""Every input item type: the core ones and those the registered hosted tools add."""


def error(message: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"message": message, "type": "invalid_request_error", "param": param, "code": code}


def type_error(param: str, expected: str, got: str) -> dict[str, Any]:
    return error(
        f"Invalid type for '{param}': expected {expected}, but got {got} instead.",
        param,
        "invalid_type",
    )


@pytest.fixture
def http(server: LocalServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.base_url, timeout=10) as client:
        yield client


def post(http: httpx2.Client, body: Any) -> httpx2.Response:
    return http.post("/responses", json=body)


def post_raw(http: httpx2.Client, content: bytes) -> httpx2.Response:
    return http.post("/responses", content=content, headers={"content-type": "application/json"})


def assert_error(response: httpx2.Response, status: int, body: dict[str, Any]) -> None:
    assert response.headers["content-type"] == "application/json"
    assert (response.status_code, response.json()) == (status, {"error": body})


# --- the body as a whole -------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b'{"model": "m", "input": "hi"',
        b'{"model": "m", "input": "hi"} trailing',
        b"\xff\xfe\x00garbage",
        b'{"model": "m", "input": "hi", "temperature": NaN}',
        b'{"model": "m", "input": "hi", "temperature": Infinity}',
        b'{"model": "m", "input": "a lone surrogate \\ud800"}',
        b'{"model": "m", "input": "hi", "metadata": {"\\udfff": "x"}}',
        b"[" * 100_000,
    ],
    ids=[
        "not-json",
        "empty",
        "truncated",
        "trailing",
        "bad-bytes",
        "nan",
        "infinity",
        "lone-surrogate",
        "surrogate-key",
        "deep-unclosed",
    ],
)
def test_unparseable_body_is_400(http: httpx2.Client, content: bytes) -> None:
    assert_error(post_raw(http, content), 400, error(UNPARSEABLE))


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("1e999", "1e999"),
        ("-1E+400", "-1E+400"),
        ("1" + "0" * 400, "1" + "0" * 38 + "…"),  # an integer no double can hold
    ],
)
def test_numbers_beyond_a_double_are_400_and_nothing_is_stored(
    tmp_path: Path, number: str, shown: str
) -> None:
    """`1e999` used to be accepted as infinity and echoed as `Infinity`: not JSON."""
    db = tmp_path / "numbers.db"
    parameters = {"type": "object", "properties": {"x": {"type": "number", "maximum": "N"}}}
    tool = {"type": "function", "name": "f", "parameters": parameters}
    content = json.dumps({"model": "m", "input": "hi", "tools": [tool]}).replace('"N"', number)
    with LocalServer(db=str(db)) as server, httpx2.Client(base_url=server.base_url) as http:
        answer = post_raw(http, content.encode())
    message = (
        f"We could not parse the JSON body of your request: the number {shown} is out of range "
        "(numbers must be finite, at most about 1.8e308 in size)."
    )
    assert_error(answer, 400, error(message))
    with sqlite3.connect(db) as rows:
        assert rows.execute("SELECT count(*) FROM responses").fetchone() == (0,)


def test_a_non_finite_number_is_never_sent_or_stored(tmp_path: Path) -> None:
    """An engine (here a scripted item) that makes one gets a 500, not invalid JSON."""
    db = tmp_path / "nan.db"
    odd = {"type": "message", "role": "assistant", "content": [], "score": float("nan")}
    with LocalServer(db=str(db), engine="scripted") as server:
        server.scripted.queue(Raw(odd))
        answer = httpx2.post(f"{server.base_url}/responses", json={"model": "m", "input": "x"})
    assert answer.status_code == 500
    assert json.loads(answer.text, parse_constant=pytest.fail)["error"]["type"] == "server_error"
    with sqlite3.connect(db) as rows:
        assert rows.execute("SELECT count(*) FROM responses").fetchone() == (0,)


def test_too_deeply_nested_body_is_400(http: httpx2.Client) -> None:
    nested: Any = "deep"
    for _ in range(150):
        nested = [nested]
    body = {"model": "m", "input": "hi", "metadata": {"k": nested}}
    assert_error(
        post(http, body),
        400,
        error("Invalid body: arrays and objects may be nested at most 100 levels deep."),
    )


def test_nesting_up_to_the_limit_is_accepted(http: httpx2.Client) -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(40):  # 40 x 2 levels (items, then the schema), plus the envelope
        schema = {"type": "array", "items": schema}
    body = {
        "model": "m",
        "input": "hi",
        "text": {"format": {"type": "json_schema", "name": "deep", "schema": schema}},
    }
    response = post(http, body)
    assert response.status_code == 200
    assert response.json()["status"] == "completed"


@pytest.mark.parametrize(
    ("body", "got"),
    [([], "an array"), ("x", "a string"), (5, "an integer"), (None, "null"), (True, "a boolean")],
)
def test_body_that_is_not_an_object_is_400(http: httpx2.Client, body: Any, got: str) -> None:
    assert_error(
        post_raw(http, json.dumps(body).encode()), 400, type_error("body", "an object", got)
    )


# --- top-level parameters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "expected", "got"),
    [
        ("model", 5, "a string", "an integer"),
        ("model", ["gpt-4o"], "a string", "an array"),
        ("input", 5, "a string or an array", "an integer"),
        ("input", {"role": "user"}, "a string or an array", "an object"),
        ("instructions", 5, "a string", "an integer"),
        ("previous_response_id", True, "a string", "a boolean"),
        ("store", "yes", "a boolean", "a string"),
        ("stream", 1, "a boolean", "an integer"),
        ("background", "no", "a boolean", "a string"),
        ("parallel_tool_calls", 0, "a boolean", "an integer"),
        ("temperature", "hot", "a decimal", "a string"),
        ("top_p", [1], "a decimal", "an array"),
        ("top_logprobs", 1.5, "an integer", "a decimal"),
        ("max_output_tokens", "100", "an integer", "a string"),
        ("max_tool_calls", True, "an integer", "a boolean"),
        ("truncation", 5, "a string", "an integer"),
        ("service_tier", {}, "a string", "an object"),
        ("include", "reasoning.encrypted_content", "an array", "a string"),
        ("metadata", [], "an object", "an array"),
        ("tools", {}, "an array", "an object"),
        ("tool_choice", 5, "a string or an object", "an integer"),
        ("text", "json", "an object", "a string"),
        ("reasoning", "high", "an object", "a string"),
        ("stream_options", True, "an object", "a boolean"),
        ("user", 5, "a string", "an integer"),
        ("safety_identifier", 5, "a string", "an integer"),
        ("prompt_cache_key", 5, "a string", "an integer"),
        ("prompt_cache_retention", 5, "a string", "an integer"),
    ],
)
def test_wrong_type_for_a_top_level_field_is_400(
    http: httpx2.Client, field: str, value: Any, expected: str, got: str
) -> None:
    body = {"model": "gpt-4o", "input": "hi", field: value}
    assert_error(post(http, body), 400, type_error(field, expected, got))


@pytest.mark.parametrize(
    ("field", "value", "body"),
    [
        (
            "temperature",
            2.5,
            error(
                "Invalid 'temperature': 2.5 is out of range; it must be between 0 and 2.",
                "temperature",
                "invalid_value",
            ),
        ),
        (
            "max_output_tokens",
            5,
            error(
                "Invalid 'max_output_tokens': integer below minimum value. Expected a value "
                ">= 16, but got 5 instead.",
                "max_output_tokens",
                "integer_below_min_value",
            ),
        ),
        (
            "truncation",
            "sometimes",
            error(
                "Invalid value: 'sometimes'. Supported values are: 'auto' and 'disabled'.",
                "truncation",
                "invalid_value",
            ),
        ),
        (
            "include",
            ["everything"],
            error(
                "Invalid value: 'everything'. Supported values are: "
                "'reasoning.encrypted_content', 'message.output_text.logprobs', "
                "'code_interpreter_call.outputs', 'computer_call_output.output.image_url', "
                "'file_search_call.results', 'message.input_image.image_url', and "
                "'web_search_call.action.sources'.",
                "include[0]",
                "invalid_value",
            ),
        ),
    ],
)
def test_out_of_range_value_is_400(
    http: httpx2.Client, field: str, value: Any, body: dict[str, Any]
) -> None:
    assert_error(post(http, {"model": "gpt-4o", "input": "hi", field: value}), 400, body)


def test_unknown_parameter_is_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input="hi", extra_body={"foo": 1})
    assert caught.value.status_code == 400
    assert caught.value.body == error("Unknown parameter: 'foo'.", "foo", "unknown_parameter")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("prompt", {"id": "pmpt_1"}),
        ("context_management", [{"type": "compaction"}]),
    ],
)
def test_parameter_the_server_does_not_implement_is_400(
    http: httpx2.Client, field: str, value: Any
) -> None:
    assert_error(
        post(http, {"model": "gpt-4o", "input": "hi", field: value}),
        400,
        error(f"The '{field}' parameter is not supported by this server.", field),
    )


def test_unimplemented_parameter_set_to_null_is_ignored(http: httpx2.Client) -> None:
    response = post(http, {"model": "gpt-4o", "input": "hi", "conversation": None})
    assert response.status_code == 200


def test_unknown_nested_parameter_is_400(http: httpx2.Client) -> None:
    body = {"model": "gpt-4o", "input": "hi", "text": {"format": {"type": "text"}, "colour": 1}}
    assert_error(
        post(http, body),
        400,
        error("Unknown parameter: 'text.colour'.", "text.colour", "unknown_parameter"),
    )


def test_missing_model_is_400(http: httpx2.Client) -> None:
    assert_error(
        post(http, {"input": "hi"}),
        400,
        error("Missing required parameter: 'model'.", "model", "missing_required_parameter"),
    )


def test_missing_input_is_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o")
    assert caught.value.body == error(
        "Missing required parameter: 'input'.", "input", "missing_required_parameter"
    )


def test_empty_model_is_400(http: httpx2.Client) -> None:
    assert_error(
        post(http, {"model": "", "input": "hi"}),
        400,
        error("Invalid 'model': empty string.", "model", "empty_string"),
    )


# --- input items and content parts -----------------------------------------------------------


def test_unknown_item_type_is_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input=[{"type": "banana"}])
    assert caught.value.body == error(
        f"Invalid value: 'banana'. Supported values are: {ITEM_TYPES}.",
        "input[0]",
        "invalid_value",
    )


def test_unknown_content_part_type_is_400(client: OpenAI) -> None:
    item = {
        "role": "user",
        "content": [{"type": "input_text", "text": "a"}, {"type": "input_sound"}],
    }
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input=[item])
    assert caught.value.body == error(
        "Invalid value: 'input_sound'. Supported values are: 'input_text', 'input_image', "
        "and 'input_file'.",
        "input[0].content[1]",
        "invalid_value",
    )


def test_output_part_in_a_user_message_is_400(http: httpx2.Client) -> None:
    item = {"role": "user", "content": [{"type": "output_text", "text": "a"}]}
    assert_error(
        post(http, {"model": "gpt-4o", "input": [item]}),
        400,
        error(
            "Invalid value: 'output_text'. Supported values are: 'input_text', 'input_image', "
            "and 'input_file'.",
            "input[0].content[0]",
            "invalid_value",
        ),
    )


def test_input_part_in_an_assistant_message_is_400(http: httpx2.Client) -> None:
    items = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "input_text", "text": "hello"}]},
    ]
    assert_error(
        post(http, {"model": "gpt-4o", "input": items}),
        400,
        error(
            "Invalid value: 'input_text'. Supported values are: 'output_text' and 'refusal'.",
            "input[1].content[0]",
            "invalid_value",
        ),
    )


def test_wrong_role_is_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input=[{"role": "robot", "content": "hi"}])
    assert caught.value.body == error(
        "Invalid value: 'robot'. Supported values are: 'user', 'system', 'developer', and "
        "'assistant'.",
        "input[0].role",
        "invalid_value",
    )


@pytest.mark.parametrize(
    ("item", "body"),
    [
        (
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "text", "text": "t"}]},
            error(
                "Invalid value: 'text'. Supported values are: 'summary_text'.",
                "input[0].summary[0]",
                "invalid_value",
            ),
        ),
        (
            "hi",
            type_error("input[0]", "an object", "a string"),
        ),
        (
            {"role": "user"},
            error(
                "Missing required parameter: 'input[0].content'.",
                "input[0].content",
                "missing_required_parameter",
            ),
        ),
        (
            {"role": "user", "content": "hi", "colour": "red"},
            error("Unknown parameter: 'input[0].colour'.", "input[0].colour", "unknown_parameter"),
        ),
        (
            {"content": "hi"},
            error(
                "Missing required parameter: 'input[0].type'.",
                "input[0].type",
                "missing_required_parameter",
            ),
        ),
        (
            {"role": "user", "content": 5},
            type_error("input[0].content", "a string or an array", "an integer"),
        ),
        (
            {"type": "function_call", "call_id": "c", "name": "f"},
            error(
                "Missing required parameter: 'input[0].arguments'.",
                "input[0].arguments",
                "missing_required_parameter",
            ),
        ),
        (
            {"type": "function_call_output", "call_id": "c", "output": 5},
            type_error("input[0].output", "a string or an array", "an integer"),
        ),
        (
            {"type": "reasoning", "summary": []},
            error(
                "Missing required parameter: 'input[0].id'.",
                "input[0].id",
                "missing_required_parameter",
            ),
        ),
        (
            {"type": "item_reference"},
            error(
                "Missing required parameter: 'input[0].id'.",
                "input[0].id",
                "missing_required_parameter",
            ),
        ),
        (
            {"role": "user", "content": [{"type": "input_image", "image_url": "ftp://x"}]},
            error(
                "Invalid 'input[0].content[0].image_url'. Expected a valid URL, but got a value "
                "with an invalid format.",
                "input[0].content[0].image_url",
                "invalid_value",
            ),
        ),
    ],
    ids=[
        "summary-part-type",
        "not-an-object",
        "no-content",
        "unknown-field",
        "no-type-no-role",
        "content-integer",
        "call-no-arguments",
        "output-integer",
        "reasoning-without-id-or-content",
        "reference-without-id",
        "image-bad-url",
    ],
)
def test_malformed_item_is_400(http: httpx2.Client, item: Any, body: dict[str, Any]) -> None:
    assert_error(post(http, {"model": "gpt-4o", "input": [item]}), 400, body)


# --- tools -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "web_search"},
        {"type": "file_search", "vector_store_ids": ["vs_1"]},
    ],
    ids=lambda tool: tool["type"],
)
def test_unsupported_tool_type_is_400_naming_it(client: OpenAI, tool: dict[str, Any]) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input="hi", tools=[tool])
    assert caught.value.body == error(
        f"Tool type '{tool['type']}' is not supported by this server yet; supported tool types: "
        + ", ".join(f"'{kind}'" for kind in ["function", *HOSTED_TOOLS])
        + ".",
        "tools[0].type",
        "unsupported_tool_type",
    )


def function(
    parameters: dict[str, Any], strict: bool | None = True, name: str = "f"
) -> dict[str, Any]:
    tool: dict[str, Any] = {"type": "function", "name": name, "parameters": parameters}
    if strict is not None:
        tool["strict"] = strict
    return tool


def schema_error(message: str, param: str = "tools[0].parameters") -> dict[str, Any]:
    return error(message, param, "invalid_function_parameters")


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            "Invalid schema for function 'f': In context=(), 'additionalProperties' is "
            "required to be supplied and to be false.",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
                "required": ["a"],
                "additionalProperties": False,
            },
            "Invalid schema for function 'f': In context=(), 'required' is required to be "
            "supplied and to be an array including every key in properties. Missing 'b'.",
        ),
        (
            {
                "type": "object",
                "properties": {"inner": {"type": "object", "properties": {}}},
                "required": ["inner"],
                "additionalProperties": False,
            },
            "Invalid schema for function 'f': In context=('properties', 'inner'), "
            "'additionalProperties' is required to be supplied and to be false.",
        ),
        (
            {
                "type": "object",
                "properties": {
                    "list": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"x": {"type": "string"}},
                            "additionalProperties": False,
                        },
                    }
                },
                "required": ["list"],
                "additionalProperties": False,
            },
            "Invalid schema for function 'f': In context=('properties', 'list', 'items'), "
            "'required' is required to be supplied and to be an array including every key in "
            "properties. Missing 'x'.",
        ),
    ],
    ids=["no-additional-properties", "not-all-required", "nested-object", "array-items"],
)
def test_strict_schema_violation_is_400(
    client: OpenAI, parameters: dict[str, Any], message: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input="hi", tools=[function(parameters)])
    assert caught.value.body == schema_error(message)


def test_strict_violation_in_a_later_tool_names_it(http: httpx2.Client) -> None:
    good = {"type": "object", "properties": {}, "additionalProperties": False}
    body = {
        "model": "gpt-4o",
        "input": "hi",
        "tools": [function(good, name="ok"), function({"type": "object"}, name="bad")],
    }
    assert_error(
        post(http, body),
        400,
        schema_error(
            "Invalid schema for function 'bad': In context=(), 'additionalProperties' is "
            "required to be supplied and to be false.",
            "tools[1].parameters",
        ),
    )


def test_omitted_strict_with_a_loose_schema_is_accepted_as_non_strict(client: OpenAI) -> None:
    loose = {"type": "object", "properties": {"a": {"type": "string"}}}
    response = client.responses.create(model="gpt-4o", input="hi", tools=[function(loose, None)])
    assert response.tools[0].strict is False


def test_omitted_strict_with_a_strict_schema_is_strict(client: OpenAI) -> None:
    tight = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    response = client.responses.create(model="gpt-4o", input="hi", tools=[function(tight, None)])
    assert response.tools[0].strict is True


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"type": "object", "properties": {"a": {}}, "required": 5},
            "In context=('required',), 5 is not of type 'array'.",
        ),
        (
            {"type": "object", "properties": [1]},
            "In context=('properties',), [1] is not of type 'object'.",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "strnig"}}},
            "In context=('properties', 'a', 'type'), 'strnig' is not valid under any of the "
            "given schemas.",
        ),
        (
            {"type": "array", "items": {"type": "string"}, "minItems": "two"},
            "In context=('minItems',), 'two' is not of type 'integer'.",
        ),
    ],
    ids=["required-not-array", "properties-not-object", "bad-type-name", "min-items-string"],
)
@pytest.mark.parametrize("strict", [True, False, None], ids=["strict", "loose", "omitted"])
def test_invalid_json_schema_is_400_whatever_strict_says(
    http: httpx2.Client, parameters: dict[str, Any], message: str, strict: bool | None
) -> None:
    body = {"model": "gpt-4o", "input": "hi", "tools": [function(parameters, strict)]}
    assert_error(post(http, body), 400, schema_error(f"Invalid schema for function 'f': {message}"))


def test_strict_text_format_violation_is_400(http: httpx2.Client) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    body = {
        "model": "gpt-4o",
        "input": "hi",
        "text": {
            "format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}
        },
    }
    assert_error(
        post(http, body),
        400,
        error(
            "Invalid schema for response_format 'answer': In context=(), 'additionalProperties' "
            "is required to be supplied and to be false.",
            "text.format.schema",
            "invalid_json_schema",
        ),
    )


def test_duplicate_tool_names_are_400(http: httpx2.Client) -> None:
    tool = function({"type": "object", "properties": {}, "additionalProperties": False})
    body = {"model": "gpt-4o", "input": "hi", "tools": [tool, tool]}
    assert_error(post(http, body), 400, error("Duplicate tool name: 'f'.", "tools"))


def test_tool_choice_naming_an_absent_tool_is_400(http: httpx2.Client) -> None:
    body = {"model": "gpt-4o", "input": "hi", "tool_choice": {"type": "function", "name": "nope"}}
    assert_error(
        post(http, body),
        400,
        error("Tool choice 'nope' not found in 'tools' parameter.", "tool_choice"),
    )


# --- body size, routes, methods ----------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> Iterator[LocalServer]:
    with LocalServer(max_body_bytes=1000) as running:
        yield running


TOO_LARGE = error("Request body too large: the limit is 1000 bytes.", None, "request_too_large")


def test_oversized_body_is_413(small: LocalServer) -> None:
    body = json.dumps({"model": "gpt-4o", "input": "x" * 2000}).encode()
    response = httpx2.post(f"{small.base_url}/responses", content=body)
    assert_error(response, 413, TOO_LARGE)


def test_oversized_chunked_body_is_413(small: LocalServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "gpt-4o", "input": "'
        for _ in range(30):
            yield b"x" * 100
        yield b'"}'

    response = httpx2.post(f"{small.base_url}/responses", content=chunks())
    assert "content-length" not in response.request.headers
    assert_error(response, 413, TOO_LARGE)


def test_oversized_body_through_the_sdk_is_413(small: LocalServer) -> None:
    client = OpenAI(base_url=small.base_url, api_key="k", max_retries=0)
    with client, pytest.raises(openai.APIStatusError) as caught:
        client.responses.create(model="gpt-4o", input="x" * 2000)
    assert caught.value.status_code == 413
    assert caught.value.body == TOO_LARGE


def test_body_under_the_cap_is_served(small: LocalServer) -> None:
    response = httpx2.post(f"{small.base_url}/responses", json={"model": "gpt-4o", "input": "hi"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/v1/nothing", 404, "Not found. (GET /v1/nothing)"),
        ("POST", "/v2/responses", 404, "Not found. (POST /v2/responses)"),
        ("GET", "/", 404, "Not found. (GET /)"),
        ("PUT", "/v1/responses", 405, "Method Not Allowed (PUT /v1/responses)"),
        ("GET", "/v1/responses", 405, "Method Not Allowed (GET /v1/responses)"),
        ("PATCH", "/v1/responses/resp_1", 405, "Method Not Allowed (PATCH /v1/responses/resp_1)"),
        (
            "GET",
            "/v1/responses/resp_1/cancel",
            405,
            "Method Not Allowed (GET /v1/responses/resp_1/cancel)",
        ),
    ],
)
def test_unknown_route_or_method_is_in_the_error_shape(
    server: LocalServer, method: str, path: str, status: int, message: str
) -> None:
    response = httpx2.request(method, server.url + path)
    assert_error(response, status, error(message))


def test_scripting_endpoints_do_not_exist_without_the_scripted_engine(server: LocalServer) -> None:
    response = httpx2.get(server.url + "/_agentkit/scripted/queue")
    assert_error(response, 404, error("Not found. (GET /_agentkit/scripted/queue)"))


# --- a failing store leaves nothing behind ------------------------------------------------------


def rows(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as connection:
        responses = connection.execute("SELECT count(*) FROM responses").fetchone()[0]
        items = connection.execute("SELECT count(*) FROM items").fetchone()[0]
    return responses, items


def test_store_failing_mid_write_leaves_no_rows(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with (
        LocalServer(db=db) as server,
        OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client,
    ):
        with sqlite3.connect(db) as connection:
            # The second item row of a response fails: the response row and one item are
            # already written inside the transaction when it does.
            connection.execute(
                "CREATE TRIGGER fail_second_item BEFORE INSERT ON items "
                "WHEN (SELECT count(*) FROM items WHERE response_id = NEW.response_id) >= 1 "
                "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
            )
        with pytest.raises(openai.InternalServerError) as caught:
            client.responses.create(model="gpt-4o", input=[{"role": "user", "content": "hi"}])
        assert caught.value.body == {
            "message": "The server had an error processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
        assert rows(db) == (0, 0)
        with sqlite3.connect(db) as connection:
            connection.execute("DROP TRIGGER fail_second_item")
        response = client.responses.create(model="gpt-4o", input="hi")
        assert client.responses.retrieve(response.id).id == response.id
        assert rows(db) == (1, 2)


def test_store_failing_leaves_earlier_responses_intact(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with (
        LocalServer(db=db) as server,
        OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client,
    ):
        first = client.responses.create(model="gpt-4o", input="hi")
        with sqlite3.connect(db) as connection:
            connection.execute(
                "CREATE TRIGGER fail_items BEFORE INSERT ON items "
                "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
            )
        with pytest.raises(openai.InternalServerError):
            client.responses.create(model="gpt-4o", input="again", previous_response_id=first.id)
        assert rows(db) == (1, 2)
        assert client.responses.retrieve(first.id).output_text == first.output_text
