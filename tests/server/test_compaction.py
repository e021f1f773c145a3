"""`POST /responses/compact` and `POST /responses/input_tokens` (OpenAI spec `Compactconversation`:
`CompactResponseMethodPublicBody` → `CompactResource` whose output holds `compaction` items;
`Getinputtokencounts`: `TokenCountsBody` → `TokenCountsResource`). Both were shadowed by
`/responses/{id}` (405). In Azure mode compaction is refused: the how-to page (Czech edition)
lists "Komprimace s /responses/compact" as not supported.

The Open Responses compliance suite's `compact-response`, `compact-missing-model` and
`websocket-compact-new-chain` check the same behaviours (the last one in test_websocket.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from openai import OpenAI
from reference import reference_path
from test_spec import load_validate

from agentkit.server import LocalServer

CONVERSATION = [
    {"type": "message", "role": "user", "content": "We launch on Tuesday."},
    {"type": "message", "role": "assistant", "content": "Understood: Tuesday."},
    {"type": "message", "role": "user", "content": "And notify support first."},
]


@pytest.fixture(scope="module")
def specs() -> tuple[Any, Any]:
    validate = load_validate()
    return (
        validate.SpecValidator(reference_path("openai-openapi.json")),
        validate.SpecValidator(reference_path("openresponses-openapi.json")),
    )


@pytest.fixture(scope="module")
def http(server: LocalServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.base_url, timeout=10) as client:
        yield client


def test_compact_answers_a_compaction_resource(http: httpx2.Client, specs: tuple[Any, Any]):
    body = {"model": "gpt-5.1", "input": CONVERSATION, "prompt_cache_key": "k"}
    compacted = http.post("/responses/compact", json=body).json()

    for spec, name in zip(specs, ("CompactResource", "CompactResource"), strict=True):
        assert spec.errors(name, compacted) == []
    assert compacted["object"] == "response.compaction"
    kinds = [(item["type"], item.get("role")) for item in compacted["output"]]
    assert kinds == [("message", "user"), ("message", "user"), ("compaction", None)]
    assert compacted["output"][-1]["encrypted_content"].startswith("gAAAAA")
    assert compacted["usage"]["total_tokens"] == (
        compacted["usage"]["input_tokens"] + compacted["usage"]["output_tokens"]
    )


def test_the_sdk_reads_it_and_the_output_replays(client: OpenAI):
    compacted = client.responses.compact(model="gpt-4.1", input=CONVERSATION)  # type: ignore[arg-type]
    assert compacted.output[-1].type == "compaction"
    # Replayed as it came (the SDK types the kept user messages as output messages).
    raw = client.responses.with_raw_response.compact(model="gpt-4.1", input=CONVERSATION)  # type: ignore[arg-type]

    follow_up = client.responses.create(
        model="gpt-4.1",
        store=False,
        input=[
            *raw.http_response.json()["output"],
            {"type": "message", "role": "user", "content": "Continue."},
        ],
    )
    # The model sees what the compaction sealed: the three earlier user messages are counted.
    assert "you sent 2 messages" in follow_up.output_text
    assert follow_up.status == "completed"


def test_a_chain_compacts_by_previous_response_id(client: OpenAI):
    first = client.responses.create(model="gpt-4.1", input="Remember 42.")
    compacted = client.responses.compact(model="gpt-4.1", previous_response_id=first.id)
    assert [item.type for item in compacted.output] == ["message", "compaction"]


def test_a_forged_compaction_item_is_refused(http: httpx2.Client):
    answer = http.post(
        "/responses",
        json={
            "model": "gpt-4.1",
            "input": [{"type": "compaction", "id": "cmp_1", "encrypted_content": "gAAAAAnope"}],
        },
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_encrypted_content"


def test_a_reasoning_token_is_not_a_compaction(client: OpenAI, http: httpx2.Client):
    reasoned = client.responses.create(
        model="o4-mini", input="hi", store=False, include=["reasoning.encrypted_content"]
    )
    token = reasoned.output[0].encrypted_content  # type: ignore[union-attr]
    answer = http.post(
        "/responses",
        json={"model": "gpt-4.1", "input": [{"type": "compaction", "encrypted_content": token}]},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_encrypted_content"


def test_compact_without_a_model_is_400(http: httpx2.Client):
    answer = http.post("/responses/compact", json={"input": CONVERSATION})
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "message": "Missing required parameter: 'model'.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "missing_required_parameter",
    }


def test_compaction_is_refused_in_azure_mode():
    with (
        LocalServer(azure=True) as running,
        OpenAI(base_url=running.base_url, api_key="k", max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.responses.compact(model="gpt-4.1", input="hi")
    assert "not supported by the Azure OpenAI Responses API" in str(caught.value)


# --- input tokens --------------------------------------------------------------------------------

TOOL = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


@pytest.mark.parametrize(
    "request_body",
    [
        {"input": "Hello there"},
        {"input": CONVERSATION, "instructions": "Be brief.", "tools": [TOOL]},
    ],
)
def test_input_tokens_equal_the_usage_of_the_same_request(
    client: OpenAI, http: httpx2.Client, specs: tuple[Any, Any], request_body: dict[str, Any]
):
    counted = http.post("/responses/input_tokens", json={"model": "gpt-4.1", **request_body})
    assert counted.status_code == 200
    assert specs[0].errors("TokenCountsResource", counted.json()) == []
    made = client.responses.create(model="gpt-4.1", tool_choice="none", **request_body)
    assert made.usage is not None
    assert counted.json() == {
        "object": "response.input_tokens",
        "input_tokens": made.usage.input_tokens,
    }


def test_input_tokens_of_a_chain_and_through_the_sdk(client: OpenAI):
    first = client.responses.create(model="gpt-4.1", input="One two three.")
    second = client.responses.create(model="gpt-4.1", previous_response_id=first.id, input="Four")
    counted = client.responses.input_tokens.count(previous_response_id=first.id, input="Four")
    assert second.usage is not None
    assert counted.input_tokens == second.usage.input_tokens


def test_input_tokens_refuse_unknown_parameters(http: httpx2.Client):
    answer = http.post("/responses/input_tokens", json={"input": "x", "stream": True})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "unknown_parameter"
