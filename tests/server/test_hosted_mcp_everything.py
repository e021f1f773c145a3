"""The hosted `mcp` tool against the reference `@modelcontextprotocol/server-everything` (npm).

It runs as a child process serving streamable HTTP (`node dist/index.js streamableHttp`, port
from `$PORT`); the real `openai` client asks the local server, which lists and calls its tools.
Skips when `./dev setup` could not install it (no node or npm).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from mcp_testing import EverythingHTTP, everything_entry
from openai import OpenAI

from agentkit.server import LocalServer
from agentkit.server.engines import Hosted, Say

BOUND = 20  # seconds, for each request


@pytest.fixture(scope="module")
def everything() -> Iterator[EverythingHTTP]:
    with EverythingHTTP(*everything_entry()) as running:
        yield running


def tool(server: EverythingHTTP, **options: Any) -> dict[str, Any]:
    return {
        "type": "mcp",
        "server_label": "everything",
        "server_url": server.url,
        "require_approval": "never",
        **options,
    }


def test_a_word_of_echo_calls_it(client: OpenAI, everything: EverythingHTTP) -> None:
    response = client.with_options(timeout=BOUND).responses.create(
        model="gpt-4o", input='Please echo "hi there"', tools=[tool(everything)]
    )

    listing, call, message = response.model_dump(mode="json")["output"]
    echo = next(t for t in listing["tools"] if t["name"] == "echo")
    assert echo == {
        "name": "echo",
        "description": "Echoes back the input string",
        "input_schema": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"message": {"type": "string", "description": "Message to echo"}},
            "required": ["message"],
        },
        "annotations": {"read_only": True},
    }
    assert {k: call[k] for k in ("type", "name", "server_label", "status", "error")} == {
        "type": "mcp_call",
        "name": "echo",
        "server_label": "everything",
        "status": "completed",
        "error": None,
    }
    assert json.loads(call["arguments"]) == {"message": "hi there"}
    assert call["output"] == "Echo: hi there"
    assert message["type"] == "message"
    assert response.output_text == "Here is what the tools returned: echo returned Echo: hi there."


def test_structured_content_and_images_become_text(
    client: OpenAI, everything: EverythingHTTP
) -> None:
    allowed = ["get-structured-content", "get-tiny-image"]
    response = client.with_options(timeout=BOUND).responses.create(
        model="gpt-4o",
        input="The structured content for Chicago, and a tiny image.",
        tools=[tool(everything, allowed_tools=allowed)],
    )

    calls = {i.name: i for i in response.output if i.type == "mcp_call"}
    assert list(calls) == allowed
    weather = calls["get-structured-content"]
    assert json.loads(weather.arguments) == {"location": "Chicago"}
    assert json.loads(weather.output or "") == {
        "temperature": 36,
        "conditions": "Light rain / drizzle",
        "humidity": 82,
    }
    assert calls["get-tiny-image"].output == (
        "Here's the image you requested:\n"
        "[image content: image/png, 3.9 KB; not shown to the model]\n"
        "The image above is the MCP logo."
    )


def test_a_scripted_call_to_get_sum(
    scripted: LocalServer, scripted_client: OpenAI, everything: EverythingHTTP
) -> None:
    # "sum" is too short a word to trigger it in the auto engine, so the script calls it.
    arguments = '{"a": 2, "b": 40}'
    scripted.scripted.queue(
        Hosted("mcp", "get-sum", arguments, {"server_label": "everything"}), Say("42")
    )

    response = scripted_client.with_options(timeout=BOUND).responses.create(
        model="gpt-4o", input="add 2 and 40", tools=[tool(everything)]
    )

    assert [i.type for i in response.output] == ["mcp_list_tools", "mcp_call", "message"]
    call = response.output[1]
    assert (call.name, call.status, call.output) == (  # type: ignore[union-attr]
        "get-sum",
        "completed",
        "The sum of 2 and 40 is 42.",
    )
    assert response.output_text == "42"


def test_the_server_process_ends_with_its_block(client: OpenAI) -> None:
    with EverythingHTTP(*everything_entry()) as server:
        process = server.process
        assert process is not None and process.poll() is None
        listed = client.with_options(timeout=BOUND).responses.create(
            model="gpt-4o", input="hi", tools=[tool(server, allowed_tools=["echo"])]
        )
        assert [t.name for t in listed.output[0].tools] == ["echo"]  # type: ignore[union-attr]

    assert process.poll() is not None
