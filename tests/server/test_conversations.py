"""The Conversations API and the `conversation` parameter (OpenAI spec: `/conversations`,
`/conversations/{conversation_id}/items`, `ConversationResource`, `ConversationItemList`,
`DeletedConversationResource`; `CreateResponse.conversation`: "Items from this conversation are
prepended to `input_items` for this response request. Input items and output items from this
response are automatically added to this conversation after this response completes."; "Cannot
be used in conjunction with `previous_response_id`"). Served under `/v1` and Azure's
`/openai/v1`, through the real `openai` client; bodies validated against the spec.
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
from agentkit.server.plan import Call, Say


@pytest.fixture(scope="module")
def spec() -> Any:
    return load_validate().SpecValidator(reference_path("openai-openapi.json"))


@pytest.fixture(scope="module", params=["/v1", "/openai/v1"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[OpenAI, httpx2.Client]]:
    with (
        LocalServer(azure=request.param == "/openai/v1") as running,
        OpenAI(base_url=running.url + request.param, api_key="k", max_retries=0) as client,
        httpx2.Client(base_url=running.url + request.param, timeout=10) as http,
    ):
        yield client, http


def test_crud_validates_against_the_spec(served: tuple[OpenAI, httpx2.Client], spec: Any) -> None:
    client, http = served
    created = client.conversations.create(
        metadata={"topic": "demo"}, items=[{"type": "message", "role": "user", "content": "Hi"}]
    )
    assert created.id.startswith("conv_")
    assert (
        spec.errors("ConversationResource", http.get(f"/conversations/{created.id}").json()) == []
    )

    updated = client.conversations.update(created.id, metadata={"topic": "other"})
    assert updated.metadata == {"topic": "other"}
    assert client.conversations.retrieve(created.id).metadata == {"topic": "other"}

    deleted = http.delete(f"/conversations/{created.id}").json()
    assert deleted == {"id": created.id, "object": "conversation.deleted", "deleted": True}
    assert spec.errors("DeletedConversationResource", deleted) == []
    with pytest.raises(openai.NotFoundError) as caught:
        client.conversations.retrieve(created.id)
    assert caught.value.body == {
        "message": f"Conversation with id '{created.id}' not found.",
        "type": "invalid_request_error",
        "param": "conversation_id",
        "code": None,
    }


def test_items_list_create_retrieve_delete(served: tuple[OpenAI, httpx2.Client], spec: Any) -> None:
    client, http = served
    conversation = client.conversations.create()
    added = client.conversations.items.create(
        conversation.id,
        items=[
            {"type": "message", "role": "user", "content": "first"},
            {"type": "message", "role": "assistant", "content": "second"},
        ],
    )
    assert [item.type for item in added.data] == ["message", "message"]
    page = http.get(f"/conversations/{conversation.id}/items", params={"order": "asc"}).json()
    assert spec.errors("ConversationItemList", page) == []
    assert [item["id"] for item in page["data"]] == [item.id for item in added.data]

    first = added.data[0].id
    item = http.get(f"/conversations/{conversation.id}/items/{first}").json()
    assert spec.errors("ConversationItem", item) == []
    assert item["content"] == [{"type": "input_text", "text": "first"}]

    after = http.delete(f"/conversations/{conversation.id}/items/{first}").json()
    assert spec.errors("ConversationResource", after) == []
    remaining = client.conversations.items.list(conversation.id)
    assert [i.id for i in remaining.data] == [added.data[1].id]
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve(first, conversation_id=conversation.id)


def test_responses_in_a_conversation_see_and_extend_it(
    served: tuple[OpenAI, httpx2.Client], spec: Any
) -> None:
    client, http = served
    conversation = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "My name is Ada."}]
    )
    first = client.responses.create(model="gpt-4.1", conversation=conversation.id, input="Hi")
    assert first.conversation is not None and first.conversation.id == conversation.id
    assert spec.errors("Response", http.get(f"/responses/{first.id}").json()) == []
    # The conversation's items are the context: the earlier message is seen.
    assert "Earlier in this conversation you sent 1 message" in first.output_text

    second = client.responses.create(
        model="gpt-4.1", conversation={"id": conversation.id}, input="Again", store=False
    )
    assert "you sent 2 messages" in second.output_text
    kinds = [
        (item.type, getattr(item, "role", None))
        for item in client.conversations.items.list(conversation.id, order="asc").data
    ]
    assert kinds == [("message", "user"), *[("message", "user"), ("message", "assistant")] * 2]


def test_a_paused_turn_needs_its_outputs_in_the_conversation() -> None:
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]
    with (
        LocalServer(engine="scripted") as running,
        OpenAI(base_url=running.base_url, api_key="k", max_retries=0) as client,
    ):
        running.scripted.queue(Call("get_weather", "{}", "call_1"), Say("Sunny."))
        conversation = client.conversations.create()
        client.responses.create(
            model="gpt-4.1", conversation=conversation.id, input="Weather?", tools=tools
        )
        with pytest.raises(openai.BadRequestError) as caught:
            client.responses.create(
                model="gpt-4.1", conversation=conversation.id, input="Never mind", tools=tools
            )
        assert "No tool output found for function call call_1." in str(caught.value)
        answered = client.responses.create(
            model="gpt-4.1",
            conversation=conversation.id,
            tools=tools,
            input=[{"type": "function_call_output", "call_id": "call_1", "output": "Sun"}],
        )
        assert answered.output_text == "Sunny."


def test_conversation_and_previous_response_id_are_exclusive(
    served: tuple[OpenAI, httpx2.Client],
) -> None:
    client, _ = served
    first = client.responses.create(model="gpt-4.1", input="Hi")
    conversation = client.conversations.create()
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="gpt-4.1",
            input="x",
            conversation=conversation.id,
            previous_response_id=first.id,
        )
    assert caught.value.body["code"] == "mutually_exclusive_parameters"  # type: ignore[index]


def test_an_unknown_conversation_is_404(served: tuple[OpenAI, httpx2.Client]) -> None:
    client, _ = served
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="gpt-4.1", input="x", conversation="conv_missing")


def test_bad_items_are_400_and_add_nothing(served: tuple[OpenAI, httpx2.Client]) -> None:
    client, http = served
    conversation = client.conversations.create()
    too_many = [{"type": "message", "role": "user", "content": str(n)} for n in range(21)]
    answer = http.post(f"/conversations/{conversation.id}/items", json={"items": too_many})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "array_above_max_length"
    bad = http.post(f"/conversations/{conversation.id}/items", json={"items": [{"role": "x"}]})
    assert bad.status_code == 400
    assert client.conversations.items.list(conversation.id).data == []
