"""Adversarial bodies over real HTTP: every answer is below 500, errors have the service's shape,
and the server keeps serving. The validator, run in-process, raises nothing but `APIError`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit.server import LocalServer
from agentkit.server.errors import APIError
from agentkit.server.protocol.context import build_context
from agentkit.server.protocol.reasoning import ReasoningSealer
from agentkit.server.protocol.validation import KNOWN_PARAMETERS, decode_json, parse_create_request
from agentkit.server.state.store import Store

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MODELS = ["gpt-4o", "o4-mini", "gpt-5", "", "x" * 300]
ITEM_TYPES = [
    "message",
    "function_call",
    "function_call_output",
    "reasoning",
    "item_reference",
    "mcp_call",
    "computer_call",
    "banana",
]
PART_TYPES = [
    "input_text",
    "input_image",
    "input_file",
    "output_text",
    "refusal",
    "summary_text",
    "x",
]
ROLES = ["user", "assistant", "system", "developer", "tool", "robot"]
TOOL_TYPES = ["function", "mcp", "code_interpreter", "web_search", "file_search", "custom", "x"]
SCHEMA_TYPES = ["object", "array", "string", "integer", "number", "boolean", "null", "strnig"]

# --- strategies ----------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)
texts = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", " ", "weather in Paris", "please lookup data 12 and 1e999", "\u0000"]),
    st.integers(min_value=0, max_value=300_000).map(lambda n: "x" * n),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30),
)
anything = st.one_of(json_values, texts)
ids = st.one_of(
    st.none(), st.sampled_from(["msg_1", "fc_1", "rs_1", "resp_1", ""]), st.text(max_size=10)
)


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The value, a random JSON value, or null."""
    return st.one_of(value, st.none(), json_values)


parts = st.fixed_dictionaries(
    {"type": maybe(st.sampled_from(PART_TYPES))},
    optional={
        "text": maybe(texts),
        "image_url": maybe(
            st.sampled_from(["https://example.com/a.png", "data:image/png;base64,AA", "ftp://x"])
        ),
        "file_id": maybe(ids),
        "file_data": maybe(texts),
        "filename": maybe(texts),
        "detail": maybe(st.sampled_from(["low", "high", "auto", "original"])),
        "annotations": maybe(st.just([])),
        "refusal": maybe(texts),
    },
)
items = st.fixed_dictionaries(
    {},
    optional={
        "type": maybe(st.sampled_from(ITEM_TYPES)),
        "role": maybe(st.sampled_from(ROLES)),
        "content": st.one_of(texts, st.lists(parts, max_size=4), json_values),
        "id": ids,
        "call_id": maybe(st.sampled_from(["call_1", "call_2"])),
        "name": maybe(st.sampled_from(["lookup_data", "get_weather"])),
        "arguments": maybe(st.sampled_from(["{}", '{"a": 1}', "not json"])),
        "output": st.one_of(texts, st.lists(parts, max_size=3), json_values),
        "summary": st.one_of(
            st.just([]),
            st.lists(
                st.fixed_dictionaries(
                    {"type": maybe(st.just("summary_text")), "text": maybe(texts)}
                ),
                max_size=2,
            ),
            json_values,
        ),
        "encrypted_content": maybe(st.sampled_from(["gAAAAAB" + "A" * 40, ""])),
        "status": maybe(st.sampled_from(["completed", "in_progress"])),
    },
)
schemas = st.recursive(
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.one_of(
                st.sampled_from(SCHEMA_TYPES),
                st.lists(st.sampled_from(SCHEMA_TYPES), max_size=3),
                scalars,
            ),
            "minItems": st.one_of(st.integers(min_value=0, max_value=2**40), scalars),
            "maxItems": st.one_of(st.integers(min_value=0, max_value=10), scalars),
            "minLength": st.one_of(st.integers(min_value=0, max_value=2**40), scalars),
            "maxLength": st.one_of(st.integers(min_value=0, max_value=50), scalars),
            "minimum": scalars,
            "maximum": scalars,
            "exclusiveMinimum": scalars,
            "exclusiveMaximum": scalars,
            "multipleOf": st.one_of(st.floats(min_value=1e-9, max_value=1e9), scalars),
            "enum": st.one_of(st.lists(json_values, max_size=3), scalars),
            "const": json_values,
            "format": st.one_of(st.sampled_from(["date", "email", "uuid", "regex"]), scalars),
            "pattern": st.one_of(st.sampled_from(["^a+$", "[", "(?P<x"]), scalars),
            "$ref": st.one_of(
                st.sampled_from(["#", "#/$defs/a", "#/nowhere", "http://x"]), scalars
            ),
            "additionalProperties": st.one_of(st.booleans(), scalars),
            "required": st.one_of(st.lists(st.sampled_from(["a", "b", "c"]), max_size=3), scalars),
        },
    ),
    lambda children: st.one_of(
        st.fixed_dictionaries(
            {
                "type": st.just("object"),
                "properties": st.dictionaries(
                    st.sampled_from(["a", "b", "c"]), children, max_size=3
                ),
            },
            optional={
                "required": st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
                "additionalProperties": st.booleans(),
                "$defs": st.dictionaries(st.just("a"), children, max_size=1),
            },
        ),
        st.fixed_dictionaries(
            {"type": st.just("array"), "items": children},
            optional={"minItems": st.integers(0, 2**40)},
        ),
        st.fixed_dictionaries({"anyOf": st.lists(children, max_size=3)}),
        st.fixed_dictionaries({"allOf": st.lists(children, max_size=3)}),
        st.fixed_dictionaries({"oneOf": st.lists(children, max_size=3)}),
    ),
    max_leaves=12,
)
tools = st.fixed_dictionaries(
    {"type": maybe(st.sampled_from(TOOL_TYPES))},
    optional={
        "name": maybe(st.sampled_from(["lookup_data", "get_weather", "bad name!", ""])),
        "parameters": st.one_of(schemas, json_values),
        "strict": maybe(st.booleans()),
        "description": maybe(texts),
    },
)
formats = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"type": maybe(st.sampled_from(["json_schema", "json_object", "text"]))},
        optional={
            "name": maybe(st.sampled_from(["answer", "bad name"])),
            "schema": st.one_of(schemas, json_values),
            "strict": maybe(st.booleans()),
        },
    ),
)
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "model": maybe(st.sampled_from(MODELS)),
    "input": st.one_of(texts, st.lists(items, max_size=6), json_values),
    "instructions": maybe(texts),
    "previous_response_id": maybe(ids),
    "store": maybe(st.booleans()),
    "stream": maybe(st.booleans()),
    "background": maybe(st.booleans()),
    "include": st.one_of(
        st.lists(st.sampled_from(["reasoning.encrypted_content", "x"]), max_size=2), json_values
    ),
    "tools": st.one_of(st.lists(tools, max_size=3), json_values),
    "tool_choice": maybe(
        st.one_of(
            st.sampled_from(["auto", "none", "required"]),
            st.fixed_dictionaries(
                {
                    "type": maybe(st.just("function")),
                    "name": maybe(st.sampled_from(["lookup_data", "x"])),
                }
            ),
        )
    ),
    "text": maybe(
        st.fixed_dictionaries(
            {}, optional={"format": formats, "verbosity": maybe(st.sampled_from(["low", "high"]))}
        )
    ),
    "reasoning": maybe(
        st.fixed_dictionaries(
            {},
            optional={
                "effort": maybe(st.sampled_from(["low", "high"])),
                "summary": maybe(st.sampled_from(["auto", "x"])),
            },
        )
    ),
    "max_output_tokens": maybe(st.integers()),
    "max_tool_calls": maybe(st.integers()),
    "metadata": maybe(st.dictionaries(st.text(max_size=70), maybe(texts), max_size=20)),
    "temperature": maybe(st.floats(allow_nan=False, allow_infinity=False)),
    "top_p": maybe(st.floats(allow_nan=False, allow_infinity=False)),
    "top_logprobs": maybe(st.integers()),
    "parallel_tool_calls": maybe(st.booleans()),
    "truncation": maybe(st.sampled_from(["auto", "disabled"])),
    "stream_options": maybe(
        st.fixed_dictionaries({}, optional={"include_obfuscation": maybe(st.booleans())})
    ),
}
bodies = st.fixed_dictionaries(
    {"model": FIELD_VALUES["model"], "input": FIELD_VALUES["input"]},
    optional={name: v for name, v in FIELD_VALUES.items() if name not in ("model", "input")},
)
VALID = {
    "model": "o4-mini",
    "input": "please lookup data for Paris 3",
    "tools": [
        {
            "type": "function",
            "name": "lookup_data",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "count": {"type": "integer"}},
                "required": ["city", "count"],
                "additionalProperties": False,
            },
        }
    ],
    "reasoning": {"summary": "auto"},
    "include": ["reasoning.encrypted_content"],
    "store": True,
}
mutations = st.tuples(
    st.one_of(st.sampled_from(sorted(KNOWN_PARAMETERS)), st.text(max_size=10)),
    st.one_of(json_values, texts),
)


def nested_items(depth: int) -> st.SearchStrategy[Any]:
    """An input whose items hold arrays and objects nested `depth` deep somewhere."""

    def wrap(leaf: Any) -> Any:
        for _ in range(depth):
            leaf = [leaf] if depth % 2 else {"x": leaf}
        return leaf

    return json_values.map(wrap).map(
        lambda deep: [
            {"role": "user", "content": [{"type": "input_text", "text": "hi", "extra": deep}]},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "a", "annotations": [deep]}],
            },
            {"role": "user", "content": deep},
        ]
    )


# One unpaired surrogate somewhere in a text (a pair would decode to a valid character).
surrogates = st.tuples(
    st.text(max_size=5), st.characters(categories=["Cs"]), st.text(max_size=5)
).map("".join)

# --- the server ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[LocalServer]:
    with LocalServer(max_body_bytes=2_000_000) as running:
        yield running


@pytest.fixture(scope="module")
def http(fuzzed: LocalServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=fuzzed.base_url, timeout=30) as client:
        yield client


def check(answer: httpx2.Response) -> None:
    """Below 500; an error has exactly the service's shape; a success is a whole response."""
    assert answer.status_code < 500, answer.text[:2000]
    if answer.headers["content-type"].startswith("text/event-stream"):
        assert answer.status_code == 200
        frames = [f for f in answer.text.split("\n\n") if f]
        last = json.loads(frames[-1].split("\ndata: ", 1)[1])
        assert last["type"] in ("response.completed", "response.incomplete")
        return
    body = answer.json()
    if answer.status_code >= 400:
        assert list(body) == ["error"]
        error = body["error"]
        assert list(error) == ["message", "type", "param", "code"]
        assert isinstance(error["message"], str) and error["message"]
        assert isinstance(error["type"], str)
        assert error["param"] is None or isinstance(error["param"], str)
        assert error["code"] is None or isinstance(error["code"], str)
    else:
        assert answer.status_code == 200
        assert body["object"] == "response"
        # A background response answers at once, queued; it runs on in the server.
        finished = ("queued",) if body["background"] else ("completed", "incomplete")
        assert body["status"] in finished, body["status"]
        for item in body["output"]:
            if item["type"] == "function_call":  # strict JSON: no NaN or Infinity
                json.loads(item["arguments"], parse_constant=_not_json)


def _not_json(name: str) -> Any:
    raise AssertionError(f"{name} in function call arguments")


def post_json(http: httpx2.Client, body: Any) -> None:
    check(
        http.post(
            "/responses",
            content=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
        )
    )


@FUZZ
@given(body=json_values)
def test_any_json_value(http: httpx2.Client, body: Any) -> None:
    post_json(http, body)


@FUZZ
@given(body=bodies)
def test_bodies_of_random_fields(http: httpx2.Client, body: dict[str, Any]) -> None:
    post_json(http, body)


@FUZZ
@given(mutation=mutations)
def test_valid_body_with_one_field_mutated(http: httpx2.Client, mutation: tuple[str, Any]) -> None:
    name, value = mutation
    post_json(http, {**VALID, name: value})


@FUZZ
@given(
    schema=schemas,
    strict=st.sampled_from([True, False, None]),
    where=st.sampled_from(["tool", "format"]),
)
def test_random_schemas(
    http: httpx2.Client, schema: dict[str, Any], strict: bool | None, where: str
) -> None:
    body: dict[str, Any] = {"model": "gpt-4o", "input": "please lookup data for Paris 12"}
    if where == "tool":
        tool: dict[str, Any] = {"type": "function", "name": "lookup_data", "parameters": schema}
        if strict is not None:
            tool["strict"] = strict
        body["tools"] = [tool]
    else:
        body["text"] = {
            "format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": strict}
        }
    post_json(http, body)


@FUZZ
@given(depth=st.integers(min_value=1, max_value=300).flatmap(nested_items))
def test_deeply_nested_items(http: httpx2.Client, depth: Any) -> None:
    post_json(http, {"model": "gpt-4o", "input": depth})


@FUZZ
@given(raw=st.binary(max_size=200))
def test_random_bytes(http: httpx2.Client, raw: bytes) -> None:
    check(http.post("/responses", content=raw, headers={"content-type": "application/json"}))


@settings(FUZZ, max_examples=100)
@given(text=surrogates, where=st.sampled_from(["input", "instructions", "key", "model"]))
def test_lone_surrogates(http: httpx2.Client, text: str, where: str) -> None:
    body: dict[str, Any] = {"model": "gpt-4o", "input": "hi"}
    if where == "key":
        body["metadata"] = {text: "v"}
    else:
        body[where] = text
    answer = http.post(
        "/responses",
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    check(answer)
    assert answer.status_code == 400


@settings(FUZZ, max_examples=60)
@given(
    size=st.integers(min_value=0, max_value=1_500_000),
    where=st.sampled_from(["input", "instructions", "output"]),
)
def test_huge_strings(http: httpx2.Client, size: int, where: str) -> None:
    huge = "é" * size
    body: dict[str, Any] = {"model": "gpt-4o", "input": "hi", "store": False}
    if where == "output":
        body["input"] = [
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": huge},
        ]
    else:
        body[where] = huge
    answer = http.post(
        "/responses",
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    check(answer)
    assert answer.status_code == (413 if len(json.dumps(body).encode()) > 2_000_000 else 200)


@settings(FUZZ, max_examples=150)
@given(chain=st.lists(st.lists(items, max_size=4), min_size=1, max_size=3))
def test_random_chains(http: httpx2.Client, chain: list[list[dict[str, Any]]]) -> None:
    """Random items continued by `previous_response_id` whenever a turn succeeds."""
    previous: str | None = None
    for turn in chain:
        body: dict[str, Any] = {"model": "o4-mini", "input": turn or "hi"}
        if previous:
            body["previous_response_id"] = previous
        answer = http.post("/responses", json=body)
        check(answer)
        if answer.status_code == 200:
            previous = answer.json()["id"]


NASTY_SCHEMAS: list[dict[str, Any]] = [
    {"$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"},
    {
        "$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}, {"$ref": "#/$defs/a"}]}},
        "$ref": "#/$defs/a",
    },
    {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
    {"type": "array", "minItems": 100, "items": {"$ref": "#"}},
    {
        "$defs": {"a": {"type": "array", "minItems": 50, "items": {"$ref": "#/$defs/a"}}},
        "$ref": "#/$defs/a",
    },
    {"type": "array", "minItems": 10**12, "items": {"type": "string", "minLength": 10**12}},
    {"type": "array", "minItems": 1e300},
    {"type": "string", "minLength": 1e300},
    {"type": "integer", "exclusiveMinimum": 1e308, "exclusiveMaximum": 1.5e308},
    {"type": "number", "minimum": -1.7e308, "maximum": 1.7e308, "multipleOf": 1e-300},
    {"type": "integer", "minimum": 1e300, "multipleOf": 1e-300},
    {"type": "integer", "multipleOf": 1e-300},
    {"type": "string", "pattern": "^(a+)+$"},
    {"type": "string", "maxLength": 0, "minLength": 5},
    {"enum": []},
]


@pytest.mark.parametrize("schema", NASTY_SCHEMAS, ids=lambda s: json.dumps(s)[:60])
@pytest.mark.parametrize("where", ["tool", "format"])
def test_nasty_but_valid_schemas(http: httpx2.Client, schema: dict[str, Any], where: str) -> None:
    """Valid JSON Schemas that ask for the impossible: the engine answers, quickly."""
    text = "please lookup data for Paris " + "9" * 400  # a number too big for a float
    body: dict[str, Any] = {"model": "gpt-4o", "input": text}
    if where == "tool":
        body["tools"] = [{"type": "function", "name": "lookup_data", "parameters": schema}]
    else:
        body["text"] = {"format": {"type": "json_schema", "name": "answer", "schema": schema}}
    answer = http.post("/responses", json=body, timeout=5)
    check(answer)
    assert answer.status_code == 200
    assert len(answer.content) < 1_000_000


def test_server_still_serves_after_the_fuzz(http: httpx2.Client) -> None:
    """Runs after the HTTP fuzz tests above (pytest keeps definition order)."""
    answer = http.post("/responses", json={"model": "gpt-4o", "input": "still there?"})
    assert answer.status_code == 200
    assert answer.json()["output"][0]["content"][0]["text"] == 'You said: "still there?".'
    first = answer.json()["id"]
    chained = http.post(
        "/responses", json={"model": "gpt-4o", "input": "and now?", "previous_response_id": first}
    )
    assert chained.status_code == 200
    assert http.get(f"/responses/{first}").json()["id"] == first


# --- in-process: the validator and the context rules --------------------------------------------


@FUZZ
@given(body=st.one_of(json_values, bodies, mutations.map(lambda m: {**VALID, m[0]: m[1]})))
def test_validator_raises_only_api_errors(body: Any) -> None:
    try:
        request = parse_create_request(body)
    except APIError as error:
        assert 400 <= error.status < 500
        return
    store = Store()
    try:
        build_context(
            store,
            ReasoningSealer(ReasoningSealer.new_key()),
            request.input,
            request.previous_response_id,
        )
    except APIError as error:
        assert error.status in (400, 404)
    finally:
        store.close()


@FUZZ
@given(raw=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())))
def test_decoder_raises_only_api_errors(raw: bytes) -> None:
    try:
        decode_json(raw)
    except APIError as error:
        assert error.status == 400
