"""The image generation hosted tool: real pictures drawn from the prompt, in the captures' shape.

Checked against `openai-image-generation-tool.1` and `azure-image-generation-tool.1` (item and
event fields, event order), the published specs (`validate.py`), and the SDK's typed models.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx2
import openai
import pytest
from openai import OpenAI
from openai.types.responses import Response
from PIL import Image
from reference import spec_errors
from sample_media import data_url, image_bytes

from agentkit.server import LocalServer
from agentkit.server.engines import Hosted, Say
from agentkit.server.hosted.image_generation import asks_for_picture, revised_prompt

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
CAT = "Generate an image of gray tabby cat hugging an otter with an orange scarf"
TOOL = {"type": "image_generation"}


def picture(item: Any) -> Image.Image:
    result = item["result"] if isinstance(item, dict) else item.result
    return Image.open(io.BytesIO(base64.b64decode(result)))


def calls(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in body["output"] if item["type"] == "image_generation_call"]


def post(http: httpx2.Client, body: dict[str, Any]) -> dict[str, Any]:
    answer = http.post("/responses", json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def stream_events(http: httpx2.Client, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    with http.stream("POST", "/responses", json={**body, "stream": True}) as answer:
        assert answer.status_code == 200
        raw = answer.read().decode()
    events = [json.loads(f.split("\ndata: ", 1)[1]) for f in raw.split("\n\n") if f]
    return raw, events


def capture(name: str) -> list[dict[str, Any]]:
    path = REFERENCE / "captures" / name.split("-", 1)[0] / name
    if not path.exists():
        pytest.skip(f"{path} is not present")
    text = path.read_text()
    if name.endswith(".json"):
        return [json.loads(text)]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def http(server: LocalServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.base_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def validate() -> ModuleType:
    path = REFERENCE / "validate.py"
    if not path.exists():
        pytest.skip(f"{path} is not present")
    spec = importlib.util.spec_from_file_location("reference_validate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def openai_spec(validate: ModuleType) -> Any:
    return validate.SpecValidator(REFERENCE / "openai-openapi.json")


# --- the item --------------------------------------------------------------------------------


def test_a_request_for_a_picture_gets_a_real_png_and_a_summary(http: httpx2.Client):
    body = post(http, {"model": "gpt-4.1-mini", "input": CAT, "tools": [TOOL]})

    assert [item["type"] for item in body["output"]] == ["image_generation_call", "message"]
    item = body["output"][0]
    assert list(item) == [
        "id", "type", "status", "background", "output_format", "quality", "result",
        "revised_prompt", "size",
    ]  # fmt: skip
    assert item["id"].startswith("ig_")
    assert (item["status"], item["background"], item["output_format"]) == (
        "completed",
        "opaque",
        "png",
    )
    assert (item["quality"], item["size"]) == ("medium", "1024x1024")
    assert item["revised_prompt"] == "Gray tabby cat hugging an otter with an orange scarf"
    image = picture(item)
    assert (image.format, image.size) == ("PNG", (1024, 1024))
    assert body["output"][1]["content"][0]["text"] == (
        "Here is what the tools returned: image_generation made a 1024x1024 PNG image of "
        '"Gray tabby cat hugging an otter with an orange scarf".'
    )


def test_the_same_prompt_draws_the_same_picture_and_another_prompt_another(
    http: httpx2.Client,
):
    request = {"model": "gpt-4.1", "input": "Draw a lighthouse", "tools": [TOOL]}
    first, second = calls(post(http, request))[0], calls(post(http, request))[0]
    other = calls(post(http, {**request, "input": "Draw a windmill"}))[0]

    assert first["result"] == second["result"]
    assert first["id"] != second["id"]
    assert other["result"] != first["result"]


def test_the_tool_is_echoed_with_the_services_defaults(http: httpx2.Client):
    body = post(http, {"model": "gpt-4.1", "input": "hi", "tools": [TOOL]})

    assert body["tools"] == [
        {
            "type": "image_generation",
            "background": "auto",
            "moderation": "auto",
            "n": 1,
            "output_compression": 100,
            "output_format": "png",
            "quality": "auto",
            "size": "auto",
        }
    ]


def test_the_echo_has_the_keys_of_the_openai_capture(http: httpx2.Client):
    captured = capture("openai-image-generation-tool.1.chunks.txt")[0]["response"]["tools"][0]
    body = post(
        http,
        {
            "model": "gpt-5-nano",
            "input": "hi",
            "tools": [{"type": "image_generation", "output_format": "webp", "quality": "low"}],
        },
    )

    assert body["tools"] == [captured]


@pytest.mark.parametrize(
    ("options", "format_", "mode", "size"),
    [
        ({"output_format": "webp", "quality": "low"}, "WEBP", "RGB", (1024, 1024)),
        ({"output_format": "jpeg", "output_compression": 50}, "JPEG", "RGB", (1024, 1024)),
        ({"background": "transparent"}, "PNG", "RGBA", (1024, 1024)),
        ({"size": "1536x1024"}, "PNG", "RGB", (1536, 1024)),
        ({"size": "1024x1536", "quality": "high"}, "PNG", "RGB", (1024, 1536)),
    ],
)
def test_the_options_shape_the_picture(
    http: httpx2.Client, options: dict[str, Any], format_: str, mode: str, size: tuple[int, int]
):
    body = post(http, {"model": "gpt-4.1", "input": "Draw a fox", "tools": [{**TOOL, **options}]})

    item = calls(body)[0]
    image = picture(item)
    assert (image.format, image.mode, image.size) == (format_, mode, size)
    assert item["output_format"] == options.get("output_format", "png")
    assert item["quality"] == options.get("quality", "medium")
    assert item["size"] == f"{size[0]}x{size[1]}"
    assert item["background"] == options.get("background", "opaque")


def test_a_transparent_picture_has_transparent_pixels(http: httpx2.Client):
    body = post(
        http,
        {
            "model": "gpt-4.1",
            "input": "Draw a fox",
            "tools": [{**TOOL, "background": "transparent"}],
        },
    )

    alpha = picture(calls(body)[0]).getchannel("A")
    assert alpha.getextrema()[0] == 0


@pytest.mark.parametrize(
    ("prompt", "size"),
    [
        ("Draw a wide landscape of hills", "1536x1024"),
        ("Draw a tall portrait of a queen", "1024x1536"),
        ("Draw a cat", "1024x1024"),
    ],
)
def test_size_auto_follows_the_prompts_words(http: httpx2.Client, prompt: str, size: str):
    assert calls(post(http, {"model": "m", "input": prompt, "tools": [TOOL]}))[0]["size"] == size


def test_input_images_appear_in_the_picture(http: httpx2.Client):
    green = data_url(image_bytes("PNG", (100, 100), "lime"), "image/png")
    content = [
        {"type": "input_text", "text": "Generate a picture of a basket with these items"},
        {"type": "input_image", "image_url": green},
    ]
    with_reference = calls(
        post(http, {"model": "m", "input": [{"role": "user", "content": content}], "tools": [TOOL]})
    )[0]
    without = calls(
        post(http, {"model": "m", "input": content[0]["text"], "tools": [TOOL]})  # type: ignore[index]
    )[0]

    # The reference is pasted as a thumbnail along the bottom-left corner.
    corner = picture(with_reference).convert("RGB").getpixel((40, 1024 - 40))
    assert corner == (0, 255, 0)
    assert picture(without).convert("RGB").getpixel((40, 1024 - 40)) != (0, 255, 0)


# --- when the auto engine draws --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Generate an image of gray tabby cat hugging an otter with an orange scarf",
        "Draw a gorgeous image of a river made of white owl feathers",
        "draw me a cat",
        "Could you create a logo for my bakery?",
        "please make a picture of a boat",
        "Paint the sunset",
    ],
)
def test_a_request_to_draw_or_make_a_picture_triggers_the_tool(text: str):
    assert asks_for_picture(text)


@pytest.mark.parametrize(
    "text",
    ["What is in this image?", "Describe the picture", "Generate a summary", "Make it shorter", ""],
)
def test_other_messages_do_not_trigger_the_tool(text: str):
    assert not asks_for_picture(text)


def test_a_message_that_asks_for_no_picture_gets_a_plain_answer(http: httpx2.Client):
    body = post(http, {"model": "m", "input": "What is in this image?", "tools": [TOOL]})

    assert [item["type"] for item in body["output"]] == ["message"]


def test_tool_choice_none_never_draws(http: httpx2.Client):
    body = post(http, {"model": "m", "input": "Draw a cat", "tools": [TOOL], "tool_choice": "none"})

    assert [item["type"] for item in body["output"]] == ["message"]


def test_without_the_tool_a_drawing_request_gets_a_plain_answer(http: httpx2.Client):
    body = post(http, {"model": "m", "input": "Draw a cat"})

    assert [item["type"] for item in body["output"]] == ["message"]


def test_a_reasoning_model_reasons_before_and_after_drawing_as_in_the_openai_capture(
    http: httpx2.Client,
):
    captured = capture("openai-image-generation-tool.1.json")[0]["output"]
    body = post(http, {"model": "gpt-5-nano", "input": "Draw a cat", "tools": [TOOL]})

    assert [i["type"] for i in body["output"]] == [i["type"] for i in captured]


@pytest.mark.parametrize(
    ("prompt", "revised"),
    [
        (CAT, "Gray tabby cat hugging an otter with an orange scarf"),
        ("Draw a gorgeous image of a river.", "A river"),
        ("please draw me a cat!", "A cat"),
        ("A castle at dawn", "A castle at dawn"),
    ],
)
def test_the_revised_prompt_drops_the_request_words(prompt: str, revised: str):
    assert revised_prompt(prompt) == revised


# --- streaming ---------------------------------------------------------------------------------


def _tool_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    first = next(
        i for i, e in enumerate(events) if e.get("item", {}).get("type") == "image_generation_call"
    )
    last = max(
        i for i, e in enumerate(events) if e.get("item", {}).get("type") == "image_generation_call"
    )
    return events[first : last + 1]


def test_streamed_events_match_the_openai_capture(http: httpx2.Client):
    captured = _tool_events(capture("openai-image-generation-tool.1.chunks.txt"))
    _, events = stream_events(
        http, {"model": "gpt-4.1", "input": "Draw a cat", "tools": [{**TOOL, "partial_images": 1}]}
    )

    mine = _tool_events(events)
    assert [e["type"] for e in mine] == [e["type"] for e in captured]
    assert [set(e) for e in mine] == [set(e) for e in captured]
    # The spec requires `result` (null) on the added item; the service leaves it out, so do we.
    assert set(mine[0]["item"]) == set(captured[0]["item"]) == {"id", "type", "status"}
    assert set(mine[-1]["item"]) == set(captured[-1]["item"])


def test_partial_images_are_real_pictures_numbered_from_zero(http: httpx2.Client):
    _, events = stream_events(
        http,
        {"model": "gpt-4.1", "input": "Draw a river", "tools": [{**TOOL, "partial_images": 3}]},
    )

    partials = [e for e in events if e["type"] == "response.image_generation_call.partial_image"]
    done = next(e for e in events if e["type"] == "response.output_item.done")
    assert [e["partial_image_index"] for e in partials] == [0, 1, 2]
    for event in partials:
        image = Image.open(io.BytesIO(base64.b64decode(event["partial_image_b64"])))
        assert (image.format, image.size) == ("PNG", (1024, 1024))
        assert event["item_id"] == done["item"]["id"]
        assert (event["size"], event["quality"], event["background"], event["output_format"]) == (
            "1024x1024",
            "medium",
            "opaque",
            "png",
        )
    assert len({e["partial_image_b64"] for e in partials} | {done["item"]["result"]}) == 4


def test_without_partial_images_no_partial_event_is_sent(http: httpx2.Client):
    _, events = stream_events(http, {"model": "m", "input": "Draw a cat", "tools": [TOOL]})

    types = [e["type"] for e in events]
    assert "response.image_generation_call.partial_image" not in types
    assert types[2:6] == [
        "response.output_item.added",
        "response.image_generation_call.in_progress",
        "response.image_generation_call.generating",
        "response.image_generation_call.completed",
    ]


@pytest.mark.parametrize("model", ["gpt-4.1", "o3"])
def test_bodies_and_streams_validate_against_openai_spec(
    http: httpx2.Client, openai_spec: Any, model: str
):
    # The Open Responses spec has no hosted tools (no image_generation tool, item or event).
    request = {"model": model, "input": "Draw a cat", "tools": [{**TOOL, "partial_images": 2}]}
    body = post(http, request)
    raw, _ = stream_events(http, request)

    assert openai_spec.errors("Response", body) == []
    errors, notes = openai_spec.check_sse(raw)
    assert (spec_errors(errors), notes) == ([], [])
    assert len(errors) == 1  # only the captures' missing `result` on the added item


def test_the_sdk_parses_the_body_and_the_events(client: OpenAI):
    response = client.responses.create(model="gpt-4.1", input="Draw a cat", tools=[TOOL])  # type: ignore[list-item]
    assert isinstance(response, Response)
    call = response.output[0]
    assert call.type == "image_generation_call"
    assert call.revised_prompt == "A cat"
    with client.responses.stream(
        model="gpt-4.1",
        input="Draw a cat",
        tools=[{"type": "image_generation", "partial_images": 1}],
    ) as stream:
        types = [event.type for event in stream]
        final = stream.get_final_response()

    assert "response.image_generation_call.partial_image" in types
    assert final.output[0].type == "image_generation_call"


# --- scripted -----------------------------------------------------------------------------------


def test_a_scripted_hosted_step_draws_its_prompt(scripted: LocalServer, scripted_client: OpenAI):
    scripted.scripted.queue(
        [Hosted("image_generation", options={"prompt": "a red square"})], Say("Done.")
    )

    response = scripted_client.responses.create(model="m", input="anything", tools=[TOOL])  # type: ignore[list-item]

    assert [item.type for item in response.output] == ["image_generation_call", "message"]
    assert response.output[0].revised_prompt == "A red square"  # type: ignore[union-attr]
    assert response.output_text == "Done."


def test_the_json_control_form_queues_an_image_generation_call(
    scripted: LocalServer, scripted_client: OpenAI
):
    with httpx2.Client(base_url=scripted.url) as http:
        queued = http.post(
            "/_agentkit/scripted/queue",
            json=[
                {
                    "output": [
                        {
                            "type": "image_generation_call",
                            "prompt": "a blue circle",
                            "revised_prompt": "A blue circle on white",
                        }
                    ]
                },
                {"output": [{"type": "message", "text": "Here it is."}]},
            ],
        )
    assert queued.status_code == 200

    response = scripted_client.responses.create(model="m", input="x", tools=[TOOL])  # type: ignore[list-item]

    assert response.output[0].revised_prompt == "A blue circle on white"  # type: ignore[union-attr]
    assert picture(response.output[0]).size == (1024, 1024)


def test_a_scripted_call_without_the_tool_in_the_request_is_a_400(
    scripted: LocalServer, scripted_client: OpenAI
):
    scripted.scripted.queue([Hosted("image_generation", options={"prompt": "x"})])

    with pytest.raises(openai.BadRequestError, match="not in the request's 'tools'"):
        scripted_client.responses.create(model="m", input="x")


# --- replaying and chaining ---------------------------------------------------------------------


def test_a_call_replayed_by_value_is_accepted_statelessly(http: httpx2.Client):
    first = post(http, {"model": "m", "input": "Draw a cat", "tools": [TOOL], "store": False})
    replay = [{"role": "user", "content": "Draw a cat"}, *first["output"]]

    second = post(
        http,
        {
            "model": "m",
            "input": [*replay, {"role": "user", "content": "Thanks"}],
            "tools": [TOOL],
            "store": False,
        },
    )

    assert [i["type"] for i in second["output"]] == ["message"]


def test_a_chained_turn_sees_the_earlier_picture_and_does_not_draw_again(http: httpx2.Client):
    first = post(http, {"model": "m", "input": "Draw a cat", "tools": [TOOL]})
    second = post(
        http,
        {"model": "m", "previous_response_id": first["id"], "input": "Thanks!", "tools": [TOOL]},
    )

    assert [i["type"] for i in second["output"]] == ["message"]
    page = http.get(f"/responses/{second['id']}/input_items", params={"order": "asc"}).json()
    assert "image_generation_call" in [i["type"] for i in page["data"]]


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ({"type": "image_generation_call", "status": "completed", "result": "x"}, "input[0].id"),
        ({"type": "image_generation_call", "id": "ig_1", "result": "x"}, "input[0].status"),
        (
            {"type": "image_generation_call", "id": "ig_1", "status": "completed", "colour": 1},
            "input[0].colour",
        ),
        (
            {"type": "image_generation_call", "id": "ig_1", "status": "completed", "result": 5},
            "input[0].result",
        ),
    ],
)
def test_a_malformed_replayed_call_is_a_400(http: httpx2.Client, item: dict[str, Any], param: str):
    answer = http.post("/responses", json={"model": "m", "input": [item]})

    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param


# --- bad configurations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "param", "message"),
    [
        ({"quality": "ultra"}, "tools[0].quality", "Invalid value: 'ultra'. Supported values are: 'low', 'medium', 'high', and 'auto'."),
        ({"partial_images": 4}, "tools[0].partial_images", "Invalid 'tools[0].partial_images': 4 is out of range; it must be between 0 and 3."),
        ({"partial_images": "2"}, "tools[0].partial_images", "Invalid type for 'tools[0].partial_images': expected an integer, but got a string instead."),
        ({"size": "999x999"}, "tools[0].size", "Invalid value: '999x999'. Supported values are: '1024x1024', '1024x1536', '1536x1024', and 'auto'."),
        ({"output_format": "gif"}, "tools[0].output_format", "Invalid value: 'gif'. Supported values are: 'png', 'webp', and 'jpeg'."),
        ({"background": "transparent", "output_format": "jpeg"}, "tools[0].background", "Invalid 'tools[0].background': a transparent background needs output_format 'png' or 'webp', not 'jpeg'."),
        ({"colour": "red"}, "tools[0].colour", "Unknown parameter: 'tools[0].colour'."),
    ],
)  # fmt: skip
def test_a_bad_tool_config_is_a_400(
    http: httpx2.Client, tool: dict[str, Any], param: str, message: str
):
    answer = http.post("/responses", json={"model": "m", "input": "x", "tools": [{**TOOL, **tool}]})

    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param
    assert answer.json()["error"]["message"] == message


def test_gpt_image_2_takes_custom_sizes(http: httpx2.Client):
    tool = {**TOOL, "model": "gpt-image-2", "size": "1536x864"}

    body = post(http, {"model": "m", "input": "Draw a cat", "tools": [tool]})

    assert picture(calls(body)[0]).size == (1536, 864)
