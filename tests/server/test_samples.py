"""The Python samples of Azure's "Responses API" how-to page, run against the local server.

Each sample's body is copied nearly verbatim from `../shared/reference/azure-responses-api-nl.txt`
(the code is in English). Only the client construction changes: the page builds
`AzureOpenAI(base_url=".../openai/v1/", azure_ad_token_provider=..., api_version="preview")`;
here every sample runs once with `AzureOpenAI(base_url=<server>/openai/v1/, api_key=...,
api_version="preview")` and once with the plain `OpenAI(base_url=<server>/v1)`. The retrieve,
delete and input-items samples use a literal response id, so a response is created first and
only the id is substituted. What each sample prints is captured and checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import openai
import pytest
from local_clients import client_maker
from openai import AzureOpenAI, OpenAI

from agentkit.server import LocalServer

API_KEY = "sample-key"
MakeClient = Callable[[], OpenAI]


@pytest.fixture(scope="module")
def keyed_server() -> Iterator[LocalServer]:
    """A server that checks the API key, as Azure does (`api-key` header or Bearer token)."""
    with LocalServer(api_key=API_KEY) as running:
        yield running


@pytest.fixture(params=["AzureOpenAI", "OpenAI"])
def make_client(request: pytest.FixtureRequest, keyed_server: LocalServer) -> Iterator[MakeClient]:
    """Builds the sample's `client`: Azure's client on /openai/v1, or the plain one on /v1."""
    with client_maker(request.param, keyed_server, API_KEY) as make:
        yield make


def printed_json(out: str) -> list[dict[str, Any]]:
    """The JSON documents a sample printed with `model_dump_json(indent=2)`, in order."""
    decoder = json.JSONDecoder()
    docs: list[dict[str, Any]] = []
    position = 0
    while position < len(out):
        if out[position].isspace():
            position += 1
            continue
        doc, position = decoder.raw_decode(out, position)
        docs.append(doc)
    return docs


def only_text(body: dict[str, Any]) -> str:
    """The text of a printed response whose output is exactly one assistant message."""
    assert [item["type"] for item in body["output"]] == ["message"]
    message = body["output"][0]
    assert message["role"] == "assistant"
    assert message["status"] == "completed"
    assert [part["type"] for part in message["content"]] == ["output_text"]
    text: str = message["content"][0]["text"]
    return text


FORGETTING = "Define and explain the concept of catastrophic forgetting?"
FRESHMAN = "Explain this at a level that could be understood by a college freshman"
CHAINED_REPLY = (
    f'You said: "{FRESHMAN}". Earlier in this conversation you sent 1 message, '
    f'starting with "{FORGETTING}".'
)


# --- the samples -----------------------------------------------------------------------------


def test_generate_a_text_response(make_client: MakeClient, capsys: pytest.CaptureFixture[str]):
    client = make_client()
    response = client.responses.create(
        model="gpt-4.1-nano",
        input= "This is a test"
    )  # fmt: skip
    print(response.model_dump_json(indent=2))

    [body] = printed_json(capsys.readouterr().out)
    assert body["object"] == "response"
    assert body["id"].startswith("resp_")
    assert body["status"] == "completed"
    assert body["model"] == "gpt-4.1-nano"
    assert only_text(body) == 'You said: "This is a test".'
    assert body["usage"]["total_tokens"] == (
        body["usage"]["input_tokens"] + body["usage"]["output_tokens"]
    )


def test_retrieve_a_response(make_client: MakeClient, capsys: pytest.CaptureFixture[str]):
    created = make_client().responses.create(model="gpt-4.1-nano", input="Keep this one.")

    client = make_client()
    response = client.responses.retrieve(created.id)
    print(response.model_dump_json(indent=2))

    [body] = printed_json(capsys.readouterr().out)
    assert body == json.loads(created.model_dump_json())


def test_delete_a_response(make_client: MakeClient, capsys: pytest.CaptureFixture[str]):
    created = make_client().responses.create(model="gpt-4.1-nano", input="Delete this one.")

    client = make_client()
    response = client.responses.delete(created.id)
    print(response)

    assert capsys.readouterr().out == "None\n"  # the SDK's delete returns nothing
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.retrieve(created.id)
    assert caught.value.status_code == 404
    assert caught.value.body == {
        "message": f"Response with id '{created.id}' not found.",
        "type": "invalid_request_error",
        "param": "response_id",
        "code": None,
    }


def test_chain_responses_with_previous_response_id(
    make_client: MakeClient, capsys: pytest.CaptureFixture[str]
):
    client = make_client()
    response = client.responses.create(
        model="gpt-4o", # replace with your model deployment name
        input="Define and explain the concept of catastrophic forgetting?"
    )  # fmt: skip

    second_response = client.responses.create(
        model="gpt-4o", # replace with your model deployment name
        previous_response_id=response.id,
        input=[{"role": "user", "content": "Explain this at a level that could be understood by a college freshman"}]
    )  # fmt: skip
    print(second_response.model_dump_json(indent=2))

    [body] = printed_json(capsys.readouterr().out)
    assert body["previous_response_id"] == response.id
    assert body["model"] == "gpt-4o"
    # The second call never repeats the first question, yet the model knows it.
    assert only_text(body) == CHAINED_REPLY


def test_chain_responses_manually(make_client: MakeClient, capsys: pytest.CaptureFixture[str]):
    client = make_client()
    inputs = [{"type": "message", "role": "user", "content": "Define and explain the concept of catastrophic forgetting?"}]  # fmt: skip

    response = client.responses.create(
        model="gpt-4o", # replace with your model deployment name
        input=inputs
    )  # fmt: skip

    inputs += response.output

    inputs.append({"role": "user", "type": "message", "content": "Explain this at a level that could be understood by a college freshman"})  # fmt: skip

    second_response = client.responses.create(
        model="gpt-4o",
        input=inputs
    )  # fmt: skip
    print(second_response.model_dump_json(indent=2))

    [body] = printed_json(capsys.readouterr().out)
    assert body["previous_response_id"] is None
    assert only_text(body) == CHAINED_REPLY


def test_stream_a_response(make_client: MakeClient, capsys: pytest.CaptureFixture[str]):
    client = make_client()
    response = client.responses.create(
        input = "This is a test",
        model = "o4-mini", # replace with model deployment name
        stream = True
    )  # fmt: skip

    for event in response:
        if event.type == 'response.output_text.delta':  # fmt: skip
            print(event.delta, end='')  # fmt: skip

    streamed = capsys.readouterr().out
    assert streamed == 'You said: "This is a test".'
    final = client.responses.create(input="This is a test", model="o4-mini")
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.output_text == streamed


def test_function_calling(make_client: MakeClient, capsys: pytest.CaptureFixture[str]):
    client = make_client()
    response = client.responses.create(
        model="gpt-4o", # replace with your model deployment name
        tools=[
            {
                "type": "function",
                "name": "get_weather",
                "description": "Get the weather for a location",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "location": {"type": "string"},
                    },
                    "required": ["location"],
                },
            }
        ],
        input=[{"role": "user", "content": "What's the weather in San Francisco?"}],
    )  # fmt: skip

    print(response.model_dump_json(indent=2))

    # To provide output to tools, add a response for each tool call to an array passed
    # to the next response as `input`
    input = []
    for output in response.output:
        if output.type == "function_call":
            match output.name:
                case "get_weather":
                    input.append(
                        {
                            "type": "function_call_output",
                            "call_id": output.call_id,
                            "output": '{"temperature": "70 degrees"}',
                        }
                    )
                case _:
                    raise ValueError(f"Unknown function call: {output.name}")

    second_response = client.responses.create(
        model="gpt-4o",
        previous_response_id=response.id,
        input=input
    )  # fmt: skip

    print(second_response.model_dump_json(indent=2))

    first, second = printed_json(capsys.readouterr().out)
    [call] = first["output"]
    assert call["type"] == "function_call"
    assert call["name"] == "get_weather"
    assert call["status"] == "completed"
    assert call["call_id"].startswith("call_")
    assert json.loads(call["arguments"]) == {"location": "San Francisco"}
    assert second["previous_response_id"] == first["id"]
    assert only_text(second) == (
        'Here is what the tools returned: get_weather returned {"temperature": "70 degrees"}.'
    )


def test_list_input_items(make_client: MakeClient, capsys: pytest.CaptureFixture[str]):
    created = make_client().responses.create(model="gpt-4o", input="This is a test.")

    client = make_client()
    response = client.responses.input_items.list(created.id)
    print(response.model_dump_json(indent=2))

    [page] = printed_json(capsys.readouterr().out)
    [item] = page["data"]
    assert item["type"] == "message"
    assert item["role"] == "user"
    assert item["status"] == "completed"
    assert [(p["type"], p["text"]) for p in item["content"]] == [("input_text", "This is a test.")]
    assert item["id"].startswith("msg_")
    assert item["id"] != created.output[0].id
    assert page["object"] == "list"
    assert page["first_id"] == page["last_id"] == item["id"]
    assert page["has_more"] is False


# --- how Azure's client reaches the server -----------------------------------------------------


def test_azure_client_sends_api_version_and_api_key_on_every_route(keyed_server: LocalServer):
    seen: list[httpx2.Request] = []
    http_client = httpx2.Client(event_hooks={"request": [seen.append]})
    with AzureOpenAI(
        base_url=keyed_server.url + "/openai/v1/",
        api_key=API_KEY,
        api_version="preview",
        http_client=http_client,
    ) as client:
        response = client.responses.create(model="gpt-4.1-nano", input="This is a test")
        client.responses.retrieve(response.id)
        client.responses.input_items.list(response.id)
        client.responses.delete(response.id)

    assert [(r.method, r.url.path) for r in seen] == [
        ("POST", "/openai/v1/responses"),
        ("GET", f"/openai/v1/responses/{response.id}"),
        ("GET", f"/openai/v1/responses/{response.id}/input_items"),
        ("DELETE", f"/openai/v1/responses/{response.id}"),
    ]
    assert {r.url.params.get("api-version") for r in seen} == {"preview"}
    assert {r.headers.get("api-key") for r in seen} == {API_KEY}


def test_azure_ad_token_provider_is_accepted_as_bearer_token(keyed_server: LocalServer):
    """The page's own construction: an Entra ID token provider instead of a key."""
    with AzureOpenAI(
        base_url=keyed_server.url + "/openai/v1/",
        azure_ad_token_provider=lambda: API_KEY,
        api_version="preview",
    ) as client:
        response = client.responses.create(model="gpt-4.1-nano", input="This is a test")
    assert response.output_text == 'You said: "This is a test".'


def test_wrong_key_is_refused_with_the_service_error(keyed_server: LocalServer):
    with (
        AzureOpenAI(
            base_url=keyed_server.url + "/openai/v1/",
            api_key="wrong",
            api_version="preview",
            max_retries=0,
        ) as client,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        client.responses.create(model="gpt-4.1-nano", input="This is a test")
    assert caught.value.status_code == 401
    assert caught.value.body == {
        "message": "Incorrect API key provided.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
