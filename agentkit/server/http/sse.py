"""The event stream of a response, in the service's order and framing."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

from agentkit.server.hosted import events_for

Event = dict[str, Any]
_PIECE = re.compile(r"\s*\S+")


def frame(event: Event) -> bytes:
    """One SSE frame: `event: <type>\\ndata: <compact json>\\n\\n`."""
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


def pieces(text: str) -> list[str]:
    """Split text into token-like deltas (a word with its leading space)."""
    found = _PIECE.findall(text)
    if not found:
        return [text] if text else []
    found[-1] += text[len("".join(found)) :]
    return found


def response_events(
    in_progress: dict[str, Any], final: dict[str, Any], *, obfuscate: bool = True
) -> Iterator[Event]:
    """Every event of a streamed response, without sequence numbers (see `numbered`)."""
    yield {"type": "response.created", "response": in_progress}
    yield {"type": "response.in_progress", "response": in_progress}
    for index, item in enumerate(final["output"]):
        yield from item_events(index, item, obfuscate)
    terminal = {
        "completed": "response.completed",
        "incomplete": "response.incomplete",
        "failed": "response.failed",
    }[final["status"]]
    yield {"type": terminal, "response": final}


def numbered(events: Iterator[Event], start: int = 0) -> Iterator[Event]:
    for number, event in enumerate(events, start):
        yield {"type": event["type"], "sequence_number": number, **event}


def item_events(index: int, item: dict[str, Any], obfuscate: bool) -> Iterator[Event]:
    kind = item["type"]
    hosted = events_for(index, item, obfuscate)
    if hosted is not None:
        yield from hosted
        return
    if kind == "message":
        yield from _message_events(index, item, obfuscate)
    elif kind == "function_call":
        yield from _call_events(index, item, obfuscate)
    elif kind == "reasoning":
        yield from _reasoning_events(index, item, obfuscate)
    else:
        yield _added(index, {**item, "status": "in_progress"} if "status" in item else item)
        yield _done(index, item)


def _added(index: int, item: dict[str, Any]) -> Event:
    return {"type": "response.output_item.added", "output_index": index, "item": item}


def _done(index: int, item: dict[str, Any]) -> Event:
    return {"type": "response.output_item.done", "output_index": index, "item": item}


def _delta(event: Event, delta: str, obfuscate: bool) -> Event:
    event = {**event, "delta": delta}
    if obfuscate:
        # The service pads deltas with random characters so their sizes do not leak the text.
        event["obfuscation"] = os.urandom(8).hex()[: max(2, 16 - len(delta))]
    return event


def _message_events(index: int, item: dict[str, Any], obfuscate: bool) -> Iterator[Event]:
    item_id = item["id"]
    yield _added(index, {**item, "status": "in_progress", "content": []})
    for content_index, part in enumerate(item["content"]):
        where = {"item_id": item_id, "output_index": index, "content_index": content_index}
        empty = (
            {**part, "text": "", "annotations": []}
            if part["type"] == "output_text"
            else {**part, "refusal": ""}
        )
        yield {"type": "response.content_part.added", **where, "part": empty}
        if part["type"] == "output_text":
            for piece in pieces(part["text"]):
                base = {"type": "response.output_text.delta", **where, "logprobs": []}
                yield _delta(base, piece, obfuscate)
            for annotation_index, annotation in enumerate(part["annotations"]):
                yield {
                    "type": "response.output_text.annotation.added",
                    **where,
                    "annotation_index": annotation_index,
                    "annotation": annotation,
                }
            yield {
                "type": "response.output_text.done",
                **where,
                "text": part["text"],
                "logprobs": [],
            }
        else:
            for piece in pieces(part["refusal"]):
                yield _delta({"type": "response.refusal.delta", **where}, piece, obfuscate)
            yield {"type": "response.refusal.done", **where, "refusal": part["refusal"]}
        yield {"type": "response.content_part.done", **where, "part": part}
    yield _done(index, item)


def _call_events(index: int, item: dict[str, Any], obfuscate: bool) -> Iterator[Event]:
    where = {"item_id": item["id"], "output_index": index}
    yield _added(index, {**item, "status": "in_progress", "arguments": ""})
    for piece in _argument_pieces(item["arguments"]):
        yield _delta({"type": "response.function_call_arguments.delta", **where}, piece, obfuscate)
    yield {
        "type": "response.function_call_arguments.done",
        **where,
        "name": item["name"],
        "arguments": item["arguments"],
    }
    yield _done(index, item)


def _argument_pieces(arguments: str) -> list[str]:
    size = 8
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


def _reasoning_events(index: int, item: dict[str, Any], obfuscate: bool) -> Iterator[Event]:
    item_id = item["id"]
    yield _added(index, {**item, "summary": []})
    for summary_index, part in enumerate(item["summary"]):
        where = {"item_id": item_id, "output_index": index, "summary_index": summary_index}
        yield {
            "type": "response.reasoning_summary_part.added",
            **where,
            "part": {"type": "summary_text", "text": ""},
        }
        for piece in pieces(part["text"]):
            base = {"type": "response.reasoning_summary_text.delta", **where}
            yield _delta(base, piece, obfuscate)
        yield {"type": "response.reasoning_summary_text.done", **where, "text": part["text"]}
        yield {"type": "response.reasoning_summary_part.done", **where, "part": part}
    yield _done(index, item)


def error_event(message: str, code: str | None, param: str | None) -> Event:
    return {"type": "error", "code": code, "message": message, "param": param}


def dumps(value: Any) -> bytes:
    # allow_nan=False: NaN and Infinity are not JSON; failing here beats sending them.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
