"""The service's rules on context, storage and chaining, checked through the `openai` client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from openai import OpenAI

from agentkit.server import LocalServer
from agentkit.server.engines import Call, Say
from agentkit.server.plan import Planned, Turn
from agentkit.server.protocol.usage import count_items, count_text

WEATHER = {
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


def error(message: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"message": message, "type": "invalid_request_error", "param": param, "code": code}


def dump(items: list[Any]) -> list[Any]:
    """Output items as the client sends them back (`inputs += response.output`)."""
    return [item.model_dump(exclude_none=True) for item in items]


# --- tool calls and their outputs ----------------------------------------------------------------


def test_function_call_output_without_its_call_is_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="gpt-4o",
            input=[
                {"role": "user", "content": "hi"},
                {"type": "function_call_output", "call_id": "call_missing", "output": "42"},
            ],
        )
    assert caught.value.body == error(
        "No tool call found for function call output with call_id call_missing.", "input"
    )


def test_function_call_output_for_a_call_in_another_chain_is_400(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-4o", input="weather in Paris?", tools=[WEATHER])
    call = first.output[0]
    assert call.type == "function_call"
    other = client.responses.create(model="gpt-4o", input="hello")
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="gpt-4o",
            previous_response_id=other.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        )
    assert caught.value.body == error(
        f"No tool call found for function call output with call_id {call.call_id}.", "input"
    )


def test_call_left_without_output_after_previous_response_is_400(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-4o", input="weather in Paris?", tools=[WEATHER])
    call = first.output[0]
    assert call.type == "function_call"
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="gpt-4o",
            previous_response_id=first.id,
            input="never mind",
            tools=[WEATHER],
        )
    assert caught.value.body == error(
        f"No tool output found for function call {call.call_id}.", "input"
    )


def test_call_left_without_output_in_items_is_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="gpt-4o",
            input=[
                {"role": "user", "content": "weather?"},
                {
                    "type": "function_call",
                    "call_id": "call_1",
                    "name": "get_weather",
                    "arguments": "{}",
                },
                {"role": "user", "content": "never mind"},
            ],
        )
    assert caught.value.body == error("No tool output found for function call call_1.", "input")


def test_call_answered_after_previous_response_is_accepted(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-4o", input="weather in Paris?", tools=[WEATHER])
    call = first.output[0]
    assert call.type == "function_call"
    second = client.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[WEATHER],
    )
    assert second.status == "completed"
    assert second.output_text == "Here is what the tools returned: get_weather returned sunny."


def test_calls_answered_in_items_are_accepted(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o",
        input=[
            {"role": "user", "content": "weather?"},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": "{}",
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "rain"},
        ],
    )
    assert response.output_text == "Here is what the tools returned: get_weather returned rain."


# --- reasoning items -----------------------------------------------------------------------------


def test_reasoning_item_without_its_following_item_is_400(client: OpenAI) -> None:
    first = client.responses.create(model="o4-mini", input="hi")
    reasoning = first.output[0]
    assert reasoning.type == "reasoning"
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="o4-mini",
            input=[
                {"role": "user", "content": "hi"},
                {"type": "reasoning", "id": reasoning.id, "summary": []},
                {"role": "user", "content": "and?"},
            ],
        )
    assert caught.value.body == error(
        f"Item '{reasoning.id}' of type 'reasoning' was provided without its required "
        "following item.",
        "input",
    )


def test_reasoning_item_last_in_input_is_400(client: OpenAI) -> None:
    first = client.responses.create(model="o4-mini", input="hi")
    reasoning = first.output[0]
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="o4-mini",
            input=[
                {"role": "user", "content": "hi"},
                {"type": "item_reference", "id": reasoning.id},
            ],
        )
    assert caught.value.body == error(
        f"Item '{reasoning.id}' of type 'reasoning' was provided without its required "
        "following item.",
        "input",
    )


def test_reasoning_item_replayed_with_its_message_is_accepted(client: OpenAI) -> None:
    first = client.responses.create(model="o4-mini", input="hi")
    second = client.responses.create(
        model="o4-mini",
        input=[
            {"role": "user", "content": "hi"},
            *dump(first.output),
            {"role": "user", "content": "more"},
        ],
    )
    assert second.status == "completed"
    assert [item.type for item in second.output] == ["reasoning", "message"]


# --- duplicates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["reference", "value"])
def test_item_in_stored_context_and_in_input_is_400(client: OpenAI, how: str) -> None:
    first = client.responses.create(model="gpt-4o", input="hi")
    message = first.output[0]
    item = (
        {"type": "item_reference", "id": message.id} if how == "reference" else dump([message])[0]
    )
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", previous_response_id=first.id, input=[item])
    assert caught.value.body == error(f"Duplicate item found with id {message.id}.", "input")


def test_same_item_twice_in_input_is_400(client: OpenAI) -> None:
    item = {"id": "msg_twice", "type": "message", "role": "user", "content": "hi"}
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input=[item, item])
    assert caught.value.body == error("Duplicate item found with id msg_twice.", "input")


# --- previous_response_id and store=false ------------------------------------------------------


def previous_not_found(response_id: str) -> dict[str, Any]:
    return error(
        f"Previous response with id '{response_id}' not found.",
        "previous_response_id",
        "previous_response_not_found",
    )


def test_unknown_previous_response_is_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input="hi", previous_response_id="resp_unknown")
    assert caught.value.body == previous_not_found("resp_unknown")


def test_deleted_previous_response_is_400(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-4o", input="hi")
    client.responses.delete(first.id)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input="hi", previous_response_id=first.id)
    assert caught.value.body == previous_not_found(first.id)


def test_chain_survives_a_deleted_ancestor(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-4o", input="first words")
    second = client.responses.create(
        model="gpt-4o", input="second words", previous_response_id=first.id
    )
    client.responses.delete(first.id)
    third = client.responses.create(
        model="gpt-4o", input="third words", previous_response_id=second.id
    )
    assert third.output_text == (
        'You said: "third words". Earlier in this conversation you sent 1 message, starting '
        'with "second words".'
    )


def not_found(message: str, param: str | None) -> dict[str, Any]:
    return error(message, param)


def test_unstored_response_cannot_be_retrieved(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o", input="hi", store=False)
    assert response.store is False
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.retrieve(response.id)
    assert caught.value.body == not_found(
        f"Response with id '{response.id}' not found.", "response_id"
    )


def test_unstored_response_cannot_be_chained(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o", input="hi", store=False)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input="more", previous_response_id=response.id)
    assert caught.value.body == previous_not_found(response.id)


def test_unstored_item_cannot_be_referenced(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o", input="hi", store=False)
    message_id = response.output[0].id
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(
            model="gpt-4o",
            input=[{"role": "user", "content": "hi"}, {"type": "item_reference", "id": message_id}],
        )
    assert caught.value.body == not_found(f"Item with id '{message_id}' not found.", "input[1]")


def test_unstored_reasoning_replayed_by_id_is_404(client: OpenAI) -> None:
    inputs: list[Any] = [{"role": "user", "content": "hi"}]
    response = client.responses.create(model="o4-mini", input=inputs, store=False)
    reasoning = response.output[0]
    assert reasoning.type == "reasoning"
    assert reasoning.encrypted_content is None
    inputs += response.output
    inputs.append({"role": "user", "content": "and then?"})
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="o4-mini", input=inputs, store=False)
    assert caught.value.body == not_found(f"Item with id '{reasoning.id}' not found.", "input[1]")


def test_unstored_reasoning_replayed_with_encrypted_content_works(client: OpenAI) -> None:
    include: Any = ["reasoning.encrypted_content"]
    inputs: list[Any] = [{"role": "user", "content": "hi"}]
    response = client.responses.create(model="o4-mini", input=inputs, store=False, include=include)
    inputs += response.output
    inputs.append({"role": "user", "content": "and then?"})
    second = client.responses.create(model="o4-mini", input=inputs, store=False, include=include)
    assert second.status == "completed"
    assert [item.type for item in second.output] == ["reasoning", "message"]


def test_stored_reasoning_replayed_by_id_works(client: OpenAI) -> None:
    inputs: list[Any] = [{"role": "user", "content": "hi"}]
    response = client.responses.create(model="o4-mini", input=inputs)
    inputs += response.output
    inputs.append({"role": "user", "content": "and then?"})
    assert client.responses.create(model="o4-mini", input=inputs).status == "completed"


# --- instructions ----------------------------------------------------------------------------


class Recording:
    """An engine that answers "ok" and keeps every turn it was asked for."""

    name = "recording"

    def __init__(self) -> None:
        self.turns: list[Turn] = []

    async def respond(self, turn: Turn) -> list[Planned]:
        self.turns.append(turn)
        return [Say("ok")]


def test_instructions_are_not_inherited_through_previous_response() -> None:
    engine = Recording()
    instructions = "Always answer in French. " * 40
    with (
        LocalServer(engine=engine) as server,
        OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client,
    ):
        first = client.responses.create(model="gpt-4o", input="hi", instructions=instructions)
        second = client.responses.create(
            model="gpt-4o", input="again", previous_response_id=first.id
        )
    assert first.instructions == instructions
    assert second.instructions is None
    assert engine.turns[0].request.instructions == instructions
    assert engine.turns[1].request.instructions is None
    assert all(instructions not in str(item) for item in engine.turns[1].items)
    assert first.usage is not None and second.usage is not None
    assert first.usage.input_tokens == count_items(engine.turns[0].items) + count_text(instructions)
    assert second.usage.input_tokens == count_items(engine.turns[1].items)
    assert second.usage.input_tokens < first.usage.input_tokens


def test_new_instructions_apply_to_their_own_turn() -> None:
    engine = Recording()
    with (
        LocalServer(engine=engine) as server,
        OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client,
    ):
        first = client.responses.create(model="gpt-4o", input="hi", instructions="one")
        second = client.responses.create(
            model="gpt-4o", input="again", previous_response_id=first.id, instructions="two"
        )
    assert second.instructions == "two"
    assert engine.turns[1].request.instructions == "two"


# --- background, cancel, delete ------------------------------------------------------------------


def test_background_without_store_is_400(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input="hi", background=True, store=False)
    assert caught.value.body == error("Background mode requires 'store' to be true.", "background")


def test_cancel_of_a_synchronous_response_is_400(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o", input="hi")
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.cancel(response.id)
    assert caught.value.body == error("Cannot cancel a synchronous response.")
    assert client.responses.retrieve(response.id).status == "completed"


def test_cancel_of_an_unknown_response_is_404(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.cancel("resp_unknown")
    assert caught.value.body == not_found(
        "Response with id 'resp_unknown' not found.", "response_id"
    )


def test_delete_returns_the_deletion_object_then_retrieve_is_404(
    server: LocalServer, client: OpenAI
) -> None:
    response = client.responses.create(model="gpt-4o", input="hi")
    deleted = httpx2.delete(f"{server.base_url}/responses/{response.id}")
    assert (deleted.status_code, deleted.json()) == (
        200,
        {"id": response.id, "object": "response", "deleted": True},
    )
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.retrieve(response.id)
    assert caught.value.body == not_found(
        f"Response with id '{response.id}' not found.", "response_id"
    )
    with pytest.raises(openai.NotFoundError):
        client.responses.input_items.list(response.id)


def test_delete_twice_is_404(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o", input="hi")
    client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.delete(response.id)
    assert caught.value.body == not_found(
        f"Response with id '{response.id}' not found.", "response_id"
    )


def test_deleted_items_cannot_be_referenced(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o", input="hi")
    message_id = response.output[0].id
    client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(
            model="gpt-4o",
            input=[{"role": "user", "content": "hi"}, {"type": "item_reference", "id": message_id}],
        )
    assert caught.value.body == not_found(f"Item with id '{message_id}' not found.", "input[1]")


# --- input items ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def five(server: LocalServer) -> Iterator[tuple[str, list[str]]]:
    """A stored response with five input messages: its id and the messages' ids, oldest first."""
    with OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
        response = client.responses.create(
            model="gpt-4o",
            input=[
                {"id": f"msg_{n}", "type": "message", "role": "user", "content": f"m{n}"}
                for n in range(5)
            ],
        )
    yield response.id, [f"msg_{n}" for n in range(5)]


def page(server: LocalServer, response_id: str, **query: Any) -> dict[str, Any]:
    answer = httpx2.get(f"{server.base_url}/responses/{response_id}/input_items", params=query)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def listing(ids: list[str], has_more: bool) -> dict[str, Any]:
    return {
        "first_id": ids[0] if ids else None,
        "last_id": ids[-1] if ids else None,
        "has_more": has_more,
        "ids": ids,
    }


def summary(found: dict[str, Any]) -> dict[str, Any]:
    assert found["object"] == "list"
    return {
        "first_id": found["first_id"],
        "last_id": found["last_id"],
        "has_more": found["has_more"],
        "ids": [item["id"] for item in found["data"]],
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, (["msg_4", "msg_3", "msg_2", "msg_1", "msg_0"], False)),
        ({"order": "asc"}, (["msg_0", "msg_1", "msg_2", "msg_3", "msg_4"], False)),
        ({"limit": 2}, (["msg_4", "msg_3"], True)),
        ({"limit": 2, "order": "asc"}, (["msg_0", "msg_1"], True)),
        ({"limit": 2, "order": "asc", "after": "msg_1"}, (["msg_2", "msg_3"], True)),
        ({"limit": 2, "order": "asc", "after": "msg_2"}, (["msg_3", "msg_4"], False)),
        ({"limit": 2, "order": "asc", "after": "msg_4"}, ([], False)),
        ({"limit": 2, "after": "msg_3"}, (["msg_2", "msg_1"], True)),
        ({"limit": 2, "order": "asc", "before": "msg_4"}, (["msg_2", "msg_3"], True)),
        ({"limit": 2, "order": "asc", "before": "msg_2"}, (["msg_0", "msg_1"], False)),
        ({"limit": 2, "order": "asc", "before": "msg_0"}, ([], False)),
        ({"limit": 3, "before": "msg_0"}, (["msg_3", "msg_2", "msg_1"], True)),
        ({"limit": 100}, (["msg_4", "msg_3", "msg_2", "msg_1", "msg_0"], False)),
        ({"limit": 5, "order": "asc"}, (["msg_0", "msg_1", "msg_2", "msg_3", "msg_4"], False)),
    ],
)
def test_input_items_pagination(
    server: LocalServer,
    five: tuple[str, list[str]],
    query: dict[str, Any],
    expected: tuple[list[str], bool],
) -> None:
    ids, has_more = expected
    assert summary(page(server, five[0], **query)) == listing(ids, has_more)


def test_input_items_are_the_stored_input_items(
    server: LocalServer, five: tuple[str, list[str]]
) -> None:
    found = page(server, five[0], order="asc", limit=1)
    assert found["data"] == [
        {
            "id": "msg_0",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "m0"}],
            "status": "completed",
        }
    ]


def test_input_items_sdk_pagination_walks_every_item(
    client: OpenAI, five: tuple[str, list[str]]
) -> None:
    pages = client.responses.input_items.list(five[0], limit=2, order="asc")
    assert [item.id for item in pages] == five[1]


def test_input_items_of_a_chained_response_include_the_chain(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-4o", input="one")
    second = client.responses.create(model="gpt-4o", input="two", previous_response_id=first.id)
    items = list(client.responses.input_items.list(second.id, order="asc"))
    assert [item.type for item in items] == ["message", "message", "message"]
    assert items[1].id == first.output[0].id
    assert second.output[0].id not in [item.id for item in items]


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ({"limit": 0}, error("Invalid 'limit': 0 must be between 1 and 100.", "limit")),
        ({"limit": 101}, error("Invalid 'limit': 101 must be between 1 and 100.", "limit")),
        (
            {"limit": "ten"},
            error("Invalid 'limit': expected an integer, but got 'ten'.", "limit"),
        ),
        (
            {"order": "up"},
            error("Invalid value: 'up'. Supported values are: 'asc' and 'desc'.", "order"),
        ),
        ({"after": "msg_x"}, error("Item with id 'msg_x' not found in this list.", "after")),
        ({"before": "msg_x"}, error("Item with id 'msg_x' not found in this list.", "before")),
    ],
)
def test_input_items_bad_query_is_400(
    server: LocalServer, five: tuple[str, list[str]], query: dict[str, Any], body: dict[str, Any]
) -> None:
    answer = httpx2.get(f"{server.base_url}/responses/{five[0]}/input_items", params=query)
    assert (answer.status_code, answer.json()) == (400, {"error": body})


def test_input_items_of_an_unknown_response_is_404(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.input_items.list("resp_unknown")
    assert caught.value.body == not_found(
        "Response with id 'resp_unknown' not found.", "response_id"
    )


# --- max_output_tokens -------------------------------------------------------------------------


def test_max_output_tokens_makes_the_response_incomplete(
    scripted: LocalServer, scripted_client: OpenAI
) -> None:
    scripted.scripted.queue(Say("word " * 100))
    response = scripted_client.responses.create(model="gpt-4o", input="talk", max_output_tokens=16)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.completed_at is None
    message = response.output[0]
    assert message.type == "message"
    assert message.status == "incomplete"
    # 16 tokens: 4 for the message item, 12 of text at 4 characters each.
    assert response.output_text == ("word " * 100)[:48]
    assert response.usage is not None
    assert response.usage.output_tokens == 16
    assert scripted_client.responses.retrieve(response.id).status == "incomplete"


def test_max_output_tokens_drops_calls_that_do_not_fit(
    scripted: LocalServer, scripted_client: OpenAI
) -> None:
    scripted.scripted.queue([Say("short"), Call("get_weather", '{"city": "' + "P" * 200 + '"}')])
    response = scripted_client.responses.create(
        model="gpt-4o",
        input="talk",
        max_output_tokens=16,
        tools=[WEATHER],
    )
    assert response.status == "incomplete"
    assert [item.type for item in response.output] == ["message"]
    assert response.output_text == "short"


def test_max_output_tokens_large_enough_completes(
    scripted: LocalServer, scripted_client: OpenAI
) -> None:
    scripted.scripted.queue(Say("short answer"))
    response = scripted_client.responses.create(model="gpt-4o", input="talk", max_output_tokens=16)
    assert response.status == "completed"
    assert response.incomplete_details is None
