"""Streamed responses: the service's event sequences, its SSE framing, and its event shapes.

Sequences are asserted exactly against the ones in `../shared/reference/README.md`; the scripted
engine fixes the text, so the number of deltas is known. Event shapes are compared with the real
OpenAI and Azure captures in `../shared/reference/captures` (those tests skip without them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from local_clients import TIME, WEATHER
from openai import OpenAI
from pydantic import BaseModel
from reference import reference_path

from agentkit.server import LocalServer
from agentkit.server.engines import Call, Say, Think

# --- helpers -----------------------------------------------------------------------------------


Event = dict[str, Any]
FRAME = re.compile(r"event: (?P<type>[a-z_.]+)\ndata: (?P<data>[^\n]+)")
TERMINAL = ("response.completed", "response.incomplete", "response.failed")
START = ["response.created", "response.in_progress"]


@dataclass
class Stream:
    """A streamed response as it came over the wire."""

    content_type: str
    raw: bytes

    @property
    def frames(self) -> list[str]:
        text = self.raw.decode()
        assert text.endswith("\n\n")
        return text[:-2].split("\n\n")

    @property
    def events(self) -> list[Event]:
        return [json.loads(_match(frame)["data"]) for frame in self.frames]

    @property
    def types(self) -> list[str]:
        return [event["type"] for event in self.events]

    @property
    def final(self) -> dict[str, Any]:
        response: dict[str, Any] = self.events[-1]["response"]
        return response

    def deltas(self, kind: str, output_index: int = 0) -> list[str]:
        return [
            e["delta"]
            for e in self.events
            if e["type"] == kind and e["output_index"] == output_index
        ]

    def one(self, kind: str, output_index: int = 0) -> Event:
        [event] = [
            e
            for e in self.events
            if e["type"] == kind and e.get("output_index", output_index) == output_index
        ]
        return event


def _match(frame: str) -> re.Match[str]:
    match = FRAME.fullmatch(frame)
    assert match is not None, f"not an `event:`/`data:` frame: {frame!r}"
    return match


def stream(server: LocalServer, body: dict[str, Any]) -> Stream:
    with (
        httpx2.Client(base_url=server.base_url, timeout=10) as http,
        http.stream("POST", "/responses", json={**body, "stream": True}) as response,
    ):
        assert response.status_code == 200
        return Stream(response.headers["content-type"], response.read())


def message_events(deltas: int) -> list[str]:
    return [
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ]


def call_events(deltas: int) -> list[str]:
    return [
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * deltas,
        "response.function_call_arguments.done",
        "response.output_item.done",
    ]


PERSON = {
    "type": "json_schema",
    "name": "person",
    "strict": True,
    "schema": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    },
}
REASONING = {
    "model": "o4-mini",
    "input": "Why is the sky blue?",
    "reasoning": {"summary": "auto"},
    "include": ["reasoning.encrypted_content"],
    "store": False,
}
# Requests for the auto engine covering every kind of output item and both terminal events.
AUTO_REQUESTS = {
    "text": {"model": "gpt-4.1", "input": "Hello there"},
    "reasoning": REASONING,
    "function_call": {"model": "gpt-4.1", "input": "Weather in Paris?", "tools": [WEATHER]},
    "parallel_function_calls": {
        "model": "gpt-4.1",
        "input": "What's the weather and the time in Paris?",
        "tools": [WEATHER, TIME],
    },
    "structured_output": {
        "model": "gpt-4.1",
        "input": "Meet Alice, 30.",
        "text": {"format": PERSON},
    },
    "incomplete": {"model": "gpt-4.1", "input": "word " * 100, "max_output_tokens": 16},
}


@pytest.fixture(scope="module")
def auto_streams(server: LocalServer) -> dict[str, Stream]:
    return {name: stream(server, body) for name, body in AUTO_REQUESTS.items()}


# --- sequences ---------------------------------------------------------------------------------


def test_text_sequence(scripted: LocalServer):
    scripted.scripted.queue(Say("Hello there, friend."))

    s = stream(scripted, {"model": "gpt-4.1", "input": "Hi"})

    assert s.types == [*START, *message_events(3), "response.completed"]
    assert s.deltas("response.output_text.delta") == ["Hello", " there,", " friend."]
    assert s.one("response.output_text.done")["text"] == "Hello there, friend."
    assert s.one("response.content_part.done")["part"]["text"] == "Hello there, friend."
    assert s.final["output"][0]["content"][0]["text"] == "Hello there, friend."


def test_reasoning_with_summary_sequence(scripted: LocalServer):
    scripted.scripted.queue([Think("Checking the sky colour."), Say("Blue.")])

    s = stream(scripted, REASONING)

    assert s.types == [
        *START,
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        *["response.reasoning_summary_text.delta"] * 4,
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        *message_events(1),
        "response.completed",
    ]
    summary = "".join(s.deltas("response.reasoning_summary_text.delta"))
    assert summary == "Checking the sky colour."
    assert s.one("response.reasoning_summary_text.done")["text"] == summary
    assert s.one("response.reasoning_summary_part.done")["part"] == {
        "type": "summary_text",
        "text": summary,
    }
    reasoning = s.final["output"][0]
    assert reasoning["summary"] == [{"type": "summary_text", "text": summary}]
    assert s.one("response.output_item.added")["item"]["summary"] == []
    assert s.final["output"][1]["content"][0]["text"] == "Blue."


def test_single_function_call_sequence(scripted: LocalServer):
    scripted.scripted.queue(Call("get_weather", '{"city":"Paris"}', "call_1"))

    s = stream(scripted, {"model": "gpt-4.1", "input": "Weather?", "tools": [WEATHER]})

    assert s.types == [*START, *call_events(2), "response.completed"]
    added = s.one("response.output_item.added")["item"]
    assert (added["status"], added["arguments"]) == ("in_progress", "")
    assert s.deltas("response.function_call_arguments.delta") == ['{"city":', '"Paris"}']
    done = s.one("response.function_call_arguments.done")
    # No `name`, as in every capture (OpenAI's spec lists one; the live service sends none).
    assert done == {
        "type": "response.function_call_arguments.done",
        "sequence_number": done["sequence_number"],
        "item_id": added["id"],
        "output_index": 0,
        "arguments": '{"city":"Paris"}',
    }
    assert s.one("response.output_item.done")["item"] == {
        "id": added["id"],
        "type": "function_call",
        "status": "completed",
        "arguments": '{"city":"Paris"}',
        "call_id": "call_1",
        "name": "get_weather",
    }


def test_parallel_function_calls_sequence(scripted: LocalServer):
    scripted.scripted.queue(
        [Call("get_weather", '{"city":"Paris"}'), Call("get_time", '{"city":"Paris, France"}')]
    )

    s = stream(scripted, {"model": "gpt-4.1", "input": "Both?", "tools": [WEATHER, TIME]})

    assert s.types == [*START, *call_events(2), *call_events(3), "response.completed"]
    for index, (name, arguments) in enumerate(
        [("get_weather", '{"city":"Paris"}'), ("get_time", '{"city":"Paris, France"}')]
    ):
        assert "".join(s.deltas("response.function_call_arguments.delta", index)) == arguments
        done = s.one("response.function_call_arguments.done", index)
        assert "name" not in done
        assert done["arguments"] == arguments
        assert s.final["output"][index]["name"] == name
        assert s.final["output"][index]["arguments"] == arguments
    first, second = s.final["output"]
    assert first["call_id"] != second["call_id"]


def test_structured_output_sequence(auto_streams: dict[str, Stream]):
    s = auto_streams["structured_output"]

    assert s.types == [*START, *message_events(4), "response.completed"]
    text = "".join(s.deltas("response.output_text.delta"))
    assert text == '{"name": "Alice", "age": 30}'
    assert s.one("response.output_text.done")["text"] == text
    assert s.final["text"]["format"] == PERSON


def test_incomplete_sequence_ends_with_response_incomplete(auto_streams: dict[str, Stream]):
    s = auto_streams["incomplete"]

    assert s.types[-1] == "response.incomplete"
    assert s.types == [
        *START,
        *message_events(s.types.count("response.output_text.delta")),
        s.types[-1],
    ]
    assert s.final["status"] == "incomplete"
    assert s.final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert s.one("response.output_item.done")["item"]["status"] == "incomplete"
    assert (
        "".join(s.deltas("response.output_text.delta"))
        == s.one("response.output_text.done")["text"]
    )


# --- framing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(AUTO_REQUESTS))
def test_framing(auto_streams: dict[str, Stream], name: str):
    s = auto_streams[name]

    assert s.content_type.split(";")[0] == "text/event-stream"
    assert b"\r" not in s.raw
    assert b"[DONE]" not in s.raw
    for frame in s.frames:
        match = _match(frame)
        event = json.loads(match["data"])
        assert match["type"] == event["type"]
        assert match["data"] == json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    assert [e["sequence_number"] for e in s.events] == list(range(len(s.events)))
    assert [t for t in s.types if t in TERMINAL] == [s.types[-1]]
    assert s.types[:2] == START


@pytest.mark.parametrize("name", list(AUTO_REQUESTS))
def test_events_agree_with_the_final_response(auto_streams: dict[str, Stream], name: str):
    s = auto_streams[name]
    created, in_progress = s.events[0]["response"], s.events[1]["response"]

    assert created == in_progress
    assert (created["status"], created["output"], created["usage"]) == ("in_progress", [], None)
    assert created["id"] == s.final["id"]
    added = {
        e["output_index"]: e["item"]["id"]
        for e in s.events
        if e["type"].endswith(".added") and "item" in e
    }
    for event in s.events:
        if "item_id" in event:
            assert event["item_id"] == added[event["output_index"]]
    done = [e["item"] for e in s.events if e["type"] == "response.output_item.done"]
    assert done == s.final["output"]
    assert list(added) == list(range(len(done)))


def test_streamed_response_is_the_stored_one(server: LocalServer):
    s = stream(server, AUTO_REQUESTS["text"])

    with httpx2.Client(base_url=server.base_url) as http:
        stored = http.get(f"/responses/{s.final['id']}").json()

    assert stored == s.final


def test_deltas_carry_obfuscation_unless_turned_off(server: LocalServer):
    body = AUTO_REQUESTS["text"]
    padded = stream(server, body)
    plain = stream(server, {**body, "stream_options": {"include_obfuscation": False}})

    deltas = [e for e in padded.events if e["type"].endswith(".delta")]
    assert deltas and all(isinstance(e["obfuscation"], str) for e in deltas)
    assert not any("obfuscation" in e for e in plain.events)


def test_sdk_stream_helper_accumulates_the_same_response(client: OpenAI):
    class Person(BaseModel):
        name: str
        age: int

    texts: list[str] = []
    with client.responses.stream(
        model="gpt-4.1", input="Meet Alice, 30.", text_format=Person
    ) as events:
        for event in events:
            if event.type == "response.output_text.delta":
                texts.append(event.delta)
        final = events.get_final_response()

    assert "".join(texts) == final.output_text == '{"name": "Alice", "age": 30}'
    assert final.output_parsed == Person(name="Alice", age=30)


# --- shapes compared with real captures --------------------------------------------------------


def _capture_events() -> Iterator[Event]:
    folder = reference_path("captures")
    for path in sorted([*folder.glob("openai/*.chunks.txt"), *folder.glob("azure/*.chunks.txt")]):
        for line in path.read_text().splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # one capture has a truncated line
            if isinstance(event, dict) and isinstance(event.get("type"), str):
                yield event


def _keys(value: dict[str, Any]) -> frozenset[str]:
    return frozenset(value) - {"obfuscation"}


def _nested(event: Event) -> tuple[tuple[str, ...], dict[str, Any]] | None:
    """The item or part an event carries, keyed by event type, item type and status."""
    if isinstance(event.get("item"), dict):
        item = event["item"]
        return (event["type"], item["type"], str(item.get("status"))), item
    if isinstance(event.get("part"), dict):
        return (event["type"], event["part"]["type"]), event["part"]
    return None


def test_event_keys_match_the_captures(auto_streams: dict[str, Stream]):
    captured: dict[str, set[frozenset[str]]] = {}
    for event in _capture_events():
        captured.setdefault(event["type"], set()).add(_keys(event))

    compared = set()
    for s in auto_streams.values():
        for event in s.events:
            if event["type"] not in captured:
                continue
            assert _keys(event) in captured[event["type"]], event["type"]
            compared.add(event["type"])
    assert compared >= {
        "response.created",
        "response.output_text.delta",
        "response.reasoning_summary_text.delta",
        "response.function_call_arguments.done",
        "response.completed",
    }


def test_item_and_part_keys_match_the_captures(auto_streams: dict[str, Stream]):
    captured: dict[tuple[str, ...], set[frozenset[str]]] = {}
    for event in _capture_events():
        if found := _nested(event):
            captured.setdefault(found[0], set()).add(frozenset(found[1]))

    compared = set()
    for s in auto_streams.values():
        for event in s.events:
            found = _nested(event)
            if found is None or found[0] not in captured:
                continue
            assert frozenset(found[1]) in captured[found[0]], found[0]
            compared.add(found[0])
    assert compared >= {
        ("response.output_item.added", "message", "in_progress"),
        ("response.output_item.done", "function_call", "completed"),
        ("response.output_item.done", "reasoning", "None"),
        ("response.content_part.done", "output_text"),
        ("response.reasoning_summary_part.added", "summary_text"),
    }


def test_service_tier_is_the_one_asked_for_then_the_one_used(auto_streams: dict[str, Stream]):
    s = auto_streams["text"]
    tiers = [e["response"]["service_tier"] for e in s.events if "response" in e]
    assert tiers == ["auto", "auto", "default"]


def test_stream_carries_a_request_id(server: LocalServer):
    with (
        httpx2.Client(base_url=server.base_url, timeout=10) as http,
        http.stream("POST", "/responses", json={**AUTO_REQUESTS["text"], "stream": True}) as r,
    ):
        r.read()
    assert r.headers["x-request-id"].startswith("req_")
    assert r.headers["cache-control"] == "no-cache"
