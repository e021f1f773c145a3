"""Azure mode (`ServerConfig(azure=True)`, `agentkit serve --azure`): Azure's answers where they
differ from OpenAI's.

The image generation tool needs the `x-ms-oai-image-generation-deployment` header (else the
400 Azure sends) and echoes `model: gpt-image-1`; the web search tool is refused (the how-to
page lists it as not supported); uploads with purpose `user_data` are refused; bodies carry
`content_filters` shaped as in `../shared/reference/captures/azure/*.json`.
"""

from __future__ import annotations

import importlib.util
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
import uvicorn
from openai import AzureOpenAI, OpenAI
from sample_media import NUCLEUS_PAGES, pdf_bytes

from agentkit.cli import main
from agentkit.server import LocalServer

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
HEADER = "x-ms-oai-image-generation-deployment"
IMAGE_TOOL = {"type": "image_generation"}


@pytest.fixture(scope="module")
def azure_server() -> Iterator[LocalServer]:
    with LocalServer(azure=True) as running:
        yield running


@pytest.fixture(scope="module")
def azure_http(azure_server: LocalServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=azure_server.url + "/openai/v1", timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def openai_http(server: LocalServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.base_url, timeout=30) as http:
        yield http


@pytest.fixture
def azure_client(azure_server: LocalServer) -> Iterator[OpenAI]:
    with AzureOpenAI(
        base_url=azure_server.url + "/openai/v1/", api_key="k", api_version="preview", max_retries=0
    ) as client:
        yield client


def azure_capture(name: str) -> dict[str, Any]:
    path = REFERENCE / "captures" / "azure" / name
    if not path.exists():
        pytest.skip(f"{path} is not present")
    body: dict[str, Any] = json.loads(path.read_text())
    return body


def events_of(raw: str) -> list[dict[str, Any]]:
    return [json.loads(f.split("\ndata: ", 1)[1]) for f in raw.split("\n\n") if f]


# --- the image generation deployment header ------------------------------------------------------


def test_image_generation_without_the_deployment_header_fails_as_azure_does(
    azure_http: httpx2.Client,
):
    answer = azure_http.post(
        "/responses", json={"model": "gpt-4.1", "input": "Draw a cat", "tools": [IMAGE_TOOL]}
    )

    assert answer.status_code == 400
    assert answer.json() == {
        "error": {
            "message": "imagegen deployment must be provided through header: "
            "x-ms-oai-image-generation-deployment",
            "type": "image_generation_user_error",
            "param": "tools",
            "code": "invalid_request_error",
        }
    }


def test_the_sdk_raises_a_bad_request_error_without_the_header(azure_client: OpenAI):
    with pytest.raises(openai.BadRequestError) as caught:
        azure_client.responses.create(model="m", input="hi", tools=[IMAGE_TOOL])  # type: ignore[list-item]

    assert caught.value.code == "invalid_request_error"
    assert caught.value.type == "image_generation_user_error"


def test_with_the_header_the_picture_is_drawn_and_the_tool_echoes_azures_model(
    azure_http: httpx2.Client,
):
    captured = azure_capture("azure-image-generation-tool.1.json")

    body = azure_http.post(
        "/responses",
        json={
            "model": "gpt-4.1-mini",
            "input": "Draw a cat",
            "tools": [{**IMAGE_TOOL, "quality": "medium", "size": "1024x1024"}],
        },
        headers={HEADER: "my-gpt-image-1"},
    ).json()

    assert body["tools"] == captured["tools"]
    assert [i["type"] for i in body["output"]] == [i["type"] for i in captured["output"]]
    assert list(body["output"][0]) == list(captured["output"][0])


def test_a_tool_that_names_its_model_keeps_it(azure_http: httpx2.Client):
    body = azure_http.post(
        "/responses",
        json={"model": "m", "input": "hi", "tools": [{**IMAGE_TOOL, "model": "gpt-image-1-mini"}]},
        headers={HEADER: "mini"},
    ).json()

    assert body["tools"][0]["model"] == "gpt-image-1-mini"


def test_outside_azure_mode_no_header_is_needed_and_no_model_is_echoed(
    openai_http: httpx2.Client,
):
    body = openai_http.post(
        "/responses", json={"model": "m", "input": "Draw a cat", "tools": [IMAGE_TOOL]}
    ).json()

    assert body["output"][0]["type"] == "image_generation_call"
    assert "model" not in body["tools"][0]
    assert "content_filters" not in body


def test_the_header_is_needed_when_streaming_too(azure_http: httpx2.Client):
    request = {"model": "m", "input": "Draw a cat", "tools": [IMAGE_TOOL], "stream": True}
    refused = azure_http.post("/responses", json=request)
    with azure_http.stream("POST", "/responses", json=request, headers={HEADER: "d"}) as answer:
        raw = answer.read().decode()

    assert refused.status_code == 400
    assert "response.image_generation_call.generating" in raw


def _image_events(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for event in lines:
        item = event.get("item") or {}
        if "image_generation_call" in event["type"] or item.get("type") == "image_generation_call":
            found.append(event)
    return found


def test_the_image_stream_ends_as_azure_s_capture(azure_http: httpx2.Client):
    """Azure's stream (`azure-image-generation-tool.1`) sends no `.completed` event and ends the
    item `generating`, in `output_item.done` and the completed response; its JSON answer says
    `completed`."""
    path = REFERENCE / "captures" / "azure" / "azure-image-generation-tool.1.chunks.txt"
    if not path.exists():
        pytest.skip(f"{path} is not present")
    captured = _image_events([json.loads(line) for line in path.read_text().splitlines()])
    tool = {**IMAGE_TOOL, "partial_images": 1}
    request = {"model": "m", "input": "Draw a raccoon", "tools": [tool], "stream": True}
    with azure_http.stream("POST", "/responses", json=request, headers={HEADER: "d"}) as answer:
        raw = answer.read().decode()
    events = [json.loads(frame.split("\ndata: ", 1)[1]) for frame in raw.split("\n\n") if frame]
    mine = _image_events(events)

    assert [e["type"] for e in mine] == [e["type"] for e in captured]
    assert mine[-1]["item"]["status"] == captured[-1]["item"]["status"] == "generating"
    assert set(mine[0]["item"]) == set(captured[0]["item"])
    assert events[-1]["response"]["output"][0]["status"] == "generating"
    plain = azure_http.post(
        "/responses", json={**request, "stream": False}, headers={HEADER: "d"}
    ).json()
    assert plain["output"][0]["status"] == "completed"


# --- unsupported tools ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["web_search", "web_search_preview"])
def test_the_web_search_tool_is_refused_as_unsupported_on_azure(
    azure_http: httpx2.Client, kind: str
):
    answer = azure_http.post(
        "/responses", json={"model": "m", "input": "news?", "tools": [{"type": kind}]}
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "message": f"The tool type '{kind}' is not supported by the Azure OpenAI Responses API.",
        "type": "invalid_request_error",
        "param": "tools[0].type",
        "code": "unsupported_tool_type",
    }


# --- content filters -----------------------------------------------------------------------------


def _shape(filters: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            f["blocked"],
            f["source_type"],
            f["content_filter_raw"],
            sorted(f["content_filter_results"]),
            sorted(f["content_filter_offsets"]),
            sorted(json.dumps(v, sort_keys=True) for v in f["content_filter_results"].values()),
        )
        for f in filters
    ]


def test_a_text_response_carries_content_filters_shaped_as_azures(azure_http: httpx2.Client):
    captured = azure_capture("azure-text.1.json")

    body = azure_http.post("/responses", json={"model": "gpt-5.1", "input": "Say a word"}).json()

    keys = list(body)
    assert keys[keys.index("background") + 1] == "content_filters"
    assert _shape(body["content_filters"]) == _shape(captured["content_filters"])
    prompt, completion = body["content_filters"]
    assert completion["content_filter_offsets"] == {
        "start_offset": 0,
        "end_offset": len(body["output"][-1]["content"][0]["text"]),
        "check_offset": 0,
    }
    assert prompt["content_filter_offsets"]["end_offset"] == len("Say a word")


def test_the_prompt_offsets_cover_the_new_input_after_the_stored_chain(
    azure_http: httpx2.Client,
):
    first = azure_http.post("/responses", json={"model": "m", "input": "Hello"}).json()
    second = azure_http.post(
        "/responses", json={"model": "m", "input": "Again", "previous_response_id": first["id"]}
    ).json()

    earlier = len("Hello") + len(first["output"][0]["content"][0]["text"])
    assert second["content_filters"][0]["content_filter_offsets"] == {
        "start_offset": earlier,
        "end_offset": earlier + len("Again"),
        "check_offset": 0,
    }


def test_a_function_call_response_carries_content_filters(azure_http: httpx2.Client):
    tool = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
    body = azure_http.post(
        "/responses", json={"model": "m", "input": "weather?", "tools": [tool]}
    ).json()

    assert body["output"][0]["type"] == "function_call"
    assert [f["source_type"] for f in body["content_filters"]] == ["prompt", "completion"]


def test_after_a_hosted_tool_content_filters_are_null_as_in_azures_captures(
    azure_http: httpx2.Client,
):
    assert azure_capture("azure-image-generation-tool.1.json")["content_filters"] is None

    body = azure_http.post(
        "/responses",
        json={"model": "m", "input": "Draw a cat", "tools": [IMAGE_TOOL]},
        headers={HEADER: "d"},
    ).json()

    assert body["content_filters"] is None


def test_streamed_content_filters_are_null_until_the_response_completes(
    azure_http: httpx2.Client,
):
    with azure_http.stream(
        "POST", "/responses", json={"model": "m", "input": "Hi", "stream": True}
    ) as answer:
        events = events_of(answer.read().decode())

    bodies = {e["type"]: e["response"] for e in events if "response" in e}
    assert bodies["response.created"]["content_filters"] is None
    assert bodies["response.in_progress"]["content_filters"] is None
    assert len(bodies["response.completed"]["content_filters"]) == 2


def test_a_retrieved_response_has_the_same_content_filters(azure_http: httpx2.Client):
    created = azure_http.post("/responses", json={"model": "m", "input": "Hi"}).json()

    assert azure_http.get(f"/responses/{created['id']}").json() == created


def test_the_sdk_parses_azure_bodies(azure_client: OpenAI):
    response = azure_client.responses.create(model="m", input="Hi")

    assert response.output_text == 'You said: "Hi".'
    assert response.model_extra is not None
    assert [f["source_type"] for f in response.model_extra["content_filters"]] == [
        "prompt",
        "completion",
    ]


def test_azure_bodies_validate_against_openai_spec(azure_http: httpx2.Client):
    path = REFERENCE / "validate.py"
    if not path.exists():
        pytest.skip(f"{path} is not present")
    spec = importlib.util.spec_from_file_location("reference_validate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    validator = module.SpecValidator(REFERENCE / "openai-openapi.json")
    body = azure_http.post("/responses", json={"model": "m", "input": "Hi"}).json()
    with azure_http.stream(
        "POST", "/responses", json={"model": "m", "input": "Hi", "stream": True}
    ) as answer:
        raw = answer.read().decode()

    assert validator.errors("Response", body) == []
    assert validator.check_sse(raw) == ([], [])


# --- files ---------------------------------------------------------------------------------------


def _upload(http: httpx2.Client, purpose: str) -> httpx2.Response:
    files = {"file": ("paper.pdf", io.BytesIO(pdf_bytes(NUCLEUS_PAGES)), "application/pdf")}
    return http.post("/files", files=files, data={"purpose": purpose})


# The Files API's handler leaves the upload's spooled temporary file to the garbage collector.
UPLOAD_LEAK = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@UPLOAD_LEAK
def test_purpose_user_data_is_refused_as_azure_does(azure_http: httpx2.Client):
    answer = _upload(azure_http, "user_data")

    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "message": "Invalid value for purpose.",
        "type": "invalid_request_error",
        "param": "purpose",
        "code": "invalidPayload",
    }


@UPLOAD_LEAK
def test_purpose_assistants_works_on_azure_and_user_data_outside_azure_mode(
    azure_http: httpx2.Client, openai_http: httpx2.Client
):
    assert _upload(azure_http, "assistants").status_code == 200
    assert _upload(openai_http, "user_data").status_code == 200


# --- the switch ----------------------------------------------------------------------------------


def test_agentkit_serve_azure_turns_azure_mode_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.delenv("AGENTKIT_SERVER_API_KEY", raising=False)
    apps: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: apps.append(app))

    assert main(["serve", "--port", "9", "--db", ":memory:", "--azure"]) == 0
    assert main(["serve", "--port", "9", "--db", ":memory:"]) == 0

    assert [app.state.server.config.azure for app in apps] == [True, False]
    for app in apps:
        app.state.server.close()
    out = capsys.readouterr().out
    assert "(engine auto, db :memory:, Azure mode)\n" in out
