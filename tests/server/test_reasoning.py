"""Reasoning models: reasoning items, summaries, and encrypted reasoning passed back by value."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI

from agentkit.server import LocalServer

INCLUDE: Any = ["reasoning.encrypted_content"]
WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


def client_for(server: LocalServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="k", max_retries=0)


def unverifiable(item_id: str, param: str) -> dict[str, Any]:
    return {
        "message": f"The encrypted content for item {item_id} could not be verified.",
        "type": "invalid_request_error",
        "param": param,
        "code": "invalid_encrypted_content",
    }


@pytest.mark.parametrize("model", ["o1", "o3-mini", "o4-mini", "gpt-5", "gpt-5.1", "gpt-5-nano"])
def test_reasoning_model_output_starts_with_a_reasoning_item(client: OpenAI, model: str) -> None:
    response = client.responses.create(model=model, input="hi")
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.reasoning is not None
    assert (response.reasoning.effort, response.reasoning.summary) == ("medium", None)
    assert response.usage is not None
    assert response.usage.output_tokens_details.reasoning_tokens > 0


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4.1", "gpt-4o-mini"])
def test_other_models_do_not_reason(client: OpenAI, model: str) -> None:
    response = client.responses.create(model=model, input="hi")
    assert [item.type for item in response.output] == ["message"]
    assert response.reasoning is not None
    assert (response.reasoning.effort, response.reasoning.summary) == (None, None)
    assert response.usage is not None
    assert response.usage.output_tokens_details.reasoning_tokens == 0


def test_reasoning_effort_is_echoed(client: OpenAI) -> None:
    response = client.responses.create(model="o4-mini", input="hi", reasoning={"effort": "high"})
    assert response.reasoning is not None
    assert response.reasoning.effort == "high"


@pytest.fixture(scope="module")
def thinker() -> Iterator[LocalServer]:
    with LocalServer(reasoning_models=("thinker*", "exact-model")) as running:
        yield running


@pytest.mark.parametrize(
    ("model", "reasons"),
    [
        ("thinker", True),
        ("thinker-2", True),
        ("exact-model", True),
        ("exact-model-2", False),
        ("o4-mini", False),
        ("gpt-5", False),
    ],
)
def test_reasoning_models_are_configurable(thinker: LocalServer, model: str, reasons: bool) -> None:
    with client_for(thinker) as client:
        response = client.responses.create(model=model, input="hi")
    assert (response.output[0].type == "reasoning") is reasons


def test_no_summary_unless_asked(client: OpenAI) -> None:
    response = client.responses.create(model="o4-mini", input="hi")
    reasoning = response.output[0]
    assert reasoning.type == "reasoning"
    assert reasoning.summary == []


@pytest.mark.parametrize("summary", ["auto", "concise", "detailed"])
def test_summary_when_asked(client: OpenAI, summary: Any) -> None:
    response = client.responses.create(model="o4-mini", input="hi", reasoning={"summary": summary})
    reasoning = response.output[0]
    assert reasoning.type == "reasoning"
    assert [part.model_dump() for part in reasoning.summary] == [
        {"type": "summary_text", "text": 'Thinking about how to answer "hi".'}
    ]
    assert response.reasoning is not None
    assert response.reasoning.summary == summary


def test_no_encrypted_content_without_the_include(client: OpenAI) -> None:
    for store in (True, False):
        reasoning = client.responses.create(model="o4-mini", input="hi", store=store).output[0]
        assert reasoning.type == "reasoning"
        assert reasoning.encrypted_content is None


@pytest.mark.parametrize("store", [True, False])
def test_encrypted_content_with_the_include_is_a_fernet_token(client: OpenAI, store: bool) -> None:
    response = client.responses.create(model="o4-mini", input="hi", store=store, include=INCLUDE)
    reasoning = response.output[0]
    assert reasoning.type == "reasoning"
    assert reasoning.encrypted_content is not None
    assert reasoning.encrypted_content.startswith("gAAAAA")
    assert all(item.type != "reasoning" for item in response.output[1:])


def test_encrypted_round_trip_over_several_turns_with_tools(client: OpenAI) -> None:
    inputs: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.responses.create(
        model="o4-mini", input=inputs, tools=[WEATHER], store=False, include=INCLUDE
    )
    assert [item.type for item in first.output] == ["reasoning", "function_call"]
    call = first.output[1]
    assert call.type == "function_call"
    inputs += first.output
    inputs.append({"type": "function_call_output", "call_id": call.call_id, "output": "18C"})

    second = client.responses.create(
        model="o4-mini", input=inputs, tools=[WEATHER], store=False, include=INCLUDE
    )
    assert [item.type for item in second.output] == ["reasoning", "message"]
    assert second.output_text == "Here is what the tools returned: get_weather returned 18C."
    inputs += second.output
    inputs.append({"role": "user", "content": "And the weather in Rome?"})

    third = client.responses.create(
        model="o4-mini", input=inputs, tools=[WEATHER], store=False, include=INCLUDE
    )
    assert [item.type for item in third.output] == ["reasoning", "function_call"]
    again = third.output[1]
    assert again.type == "function_call"
    inputs += third.output
    inputs.append({"type": "function_call_output", "call_id": again.call_id, "output": "24C"})

    fourth = client.responses.create(
        model="o4-mini", input=inputs, tools=[WEATHER], store=False, include=INCLUDE
    )
    assert fourth.status == "completed"
    assert fourth.output_text == "Here is what the tools returned: get_weather returned 24C."
    reasoning_ids = [item.id for item in inputs if getattr(item, "type", None) == "reasoning"]
    assert len(reasoning_ids) == 3
    assert len(set(reasoning_ids)) == 3


def test_encrypted_reasoning_without_its_id_is_accepted(client: OpenAI) -> None:
    first = client.responses.create(model="o4-mini", input="hi", store=False, include=INCLUDE)
    reasoning, message = first.output
    assert reasoning.type == "reasoning"
    replay = {"type": "reasoning", "summary": [], "encrypted_content": reasoning.encrypted_content}
    second = client.responses.create(
        model="o4-mini",
        input=[
            {"role": "user", "content": "hi"},
            replay,
            message.model_dump(exclude_none=True),
            {"role": "user", "content": "more"},
        ],
        store=False,
    )
    assert second.status == "completed"


def tampered(token: str) -> str:
    index = len(token) // 2
    return token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]


def test_tampered_token_is_400(client: OpenAI) -> None:
    first = client.responses.create(model="o4-mini", input="hi", store=False, include=INCLUDE)
    reasoning, message = first.output
    assert reasoning.type == "reasoning" and reasoning.encrypted_content is not None
    replay = {
        "id": reasoning.id,
        "type": "reasoning",
        "summary": [],
        "encrypted_content": tampered(reasoning.encrypted_content),
    }
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="o4-mini",
            input=[
                {"role": "user", "content": "hi"},
                replay,
                message.model_dump(exclude_none=True),
            ],
            store=False,
        )
    assert caught.value.body == unverifiable(reasoning.id, "input[1]")


@pytest.mark.parametrize(
    "token", ["", "not a token", "gAAAAA", "gAAAAA" + "x" * 100, "\u00e9\u00e9"]
)
def test_garbage_token_is_400(client: OpenAI, token: str) -> None:
    replay = {"id": "rs_1", "type": "reasoning", "summary": [], "encrypted_content": token}
    reply = {"type": "message", "role": "assistant", "content": "ok"}
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="o4-mini",
            input=[{"role": "user", "content": "hi"}, replay, reply],
            store=False,
        )
    assert caught.value.body == unverifiable("rs_1", "input[1]")


def test_token_for_another_item_is_400(client: OpenAI) -> None:
    first = client.responses.create(model="o4-mini", input="hi", store=False, include=INCLUDE)
    reasoning, message = first.output
    assert reasoning.type == "reasoning"
    replay = {
        "id": "rs_someone_else",
        "type": "reasoning",
        "summary": [],
        "encrypted_content": reasoning.encrypted_content,
    }
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="o4-mini",
            input=[
                {"role": "user", "content": "hi"},
                replay,
                message.model_dump(exclude_none=True),
            ],
            store=False,
        )
    assert caught.value.body == {
        "message": "The encrypted content for item rs_someone_else belongs to another item.",
        "type": "invalid_request_error",
        "param": "input[1]",
        "code": "invalid_encrypted_content",
    }


def replay_input(response: Any) -> list[Any]:
    return [
        {"role": "user", "content": "hi"},
        *[item.model_dump(exclude_none=True) for item in response.output],
        {"role": "user", "content": "again"},
    ]


def test_token_from_another_server_is_400(tmp_path: Path) -> None:
    with LocalServer(db=tmp_path / "a.db") as one, client_for(one) as client:
        first = client.responses.create(model="o4-mini", input="hi", store=False, include=INCLUDE)
    with (
        LocalServer(db=tmp_path / "b.db") as other,
        client_for(other) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.responses.create(model="o4-mini", input=replay_input(first), store=False)
    assert caught.value.body == unverifiable(first.output[0].id, "input[1]")


def test_token_from_another_in_memory_server_is_400(client: OpenAI) -> None:
    with LocalServer() as other, client_for(other) as other_client:
        first = other_client.responses.create(
            model="o4-mini", input="hi", store=False, include=INCLUDE
        )
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="o4-mini", input=replay_input(first), store=False)
    assert caught.value.body == unverifiable(first.output[0].id, "input[1]")


def test_key_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with LocalServer(db=db) as before, client_for(before) as client:
        first = client.responses.create(model="o4-mini", input="hi", store=False, include=INCLUDE)
    with LocalServer(db=db) as after, client_for(after) as client:
        second = client.responses.create(
            model="o4-mini", input=replay_input(first), store=False, include=INCLUDE
        )
    assert second.status == "completed"
    assert [item.type for item in second.output] == ["reasoning", "message"]


# --- reasoning items given to another model ------------------------------------------------------

REFUSED = {
    "message": "Reasoning input items can only be provided to a reasoning or computer use model. "
    "Remove reasoning items from your input and try again.",
    "type": "invalid_request_error",
    "param": "input",
    "code": None,
}


def test_a_model_that_does_not_reason_refuses_reasoning_items_by_value(client: OpenAI) -> None:
    first = client.responses.create(model="o4-mini", input="hi", store=False, include=INCLUDE)
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model="gpt-4o", input=replay_input(first), store=False)
    assert refused.value.body == REFUSED


def test_it_refuses_them_held_by_the_chain_too(client: OpenAI) -> None:
    first = client.responses.create(model="o4-mini", input="hi")
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model="gpt-4o", input="again", previous_response_id=first.id)
    assert refused.value.body == REFUSED
    with pytest.raises(openai.BadRequestError):  # or referenced by id
        client.responses.create(
            model="gpt-4o", input=[{"type": "item_reference", "id": first.output[0].id}]
        )


def test_another_reasoning_model_and_other_tools_accept_them(client: OpenAI) -> None:
    """The same conversation goes on with another reasoning model, and with other tools."""
    first = client.responses.create(model="o4-mini", input="hi", tools=[WEATHER])
    chained = client.responses.create(model="o3", input="again", previous_response_id=first.id)
    assert chained.status == "completed"
    sealed = client.responses.create(model="o4-mini", input="hi", store=False, include=INCLUDE)
    again = client.responses.create(
        model="gpt-5", input=replay_input(sealed), store=False, include=INCLUDE, tools=[WEATHER]
    )
    assert again.output[0].type == "reasoning"


def test_a_plain_model_accepts_the_conversation_without_its_reasoning(client: OpenAI) -> None:
    first = client.responses.create(model="o4-mini", input="hi", store=False, include=INCLUDE)
    kept = [
        {k: v for k, v in item.items() if k != "id"}
        for item in replay_input(first)
        if item.get("type") != "reasoning"
    ]
    answer = client.responses.create(model="gpt-4o", input=kept, store=False)
    assert answer.status == "completed"
