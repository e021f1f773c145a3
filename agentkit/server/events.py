"""The stream events of a response and its output items, in the service's order and shapes."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

from agentkit.server.hosted import events_for

Event = dict[str, Any]
_PIECE = re.compile(r"\s*\S+")
TERMINAL_EVENTS = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}
"""The event that ends a stream, by the response's final status (a cancelled one has none)."""
RESPONSE_ERROR_CODES = frozenset(
    {
        "server_error", "rate_limit_exceeded", "invalid_prompt", "data_residency_mismatch",
        "bio_policy", "vector_store_timeout", "invalid_image", "invalid_image_format",
        "invalid_base64_image", "invalid_image_url", "image_too_large", "image_too_small",
        "image_parse_error", "image_content_policy_violation", "invalid_image_mode",
        "image_file_too_large", "unsupported_image_media_type", "empty_image_file",
        "failed_to_download_image", "image_file_not_found",
    }
)  # fmt: skip
"""The codes a Response's `error` may carry (the spec's `ResponseErrorCode`)."""


def response_event(kind: str, body: dict[str, Any]) -> Event:
    """`response.created`, `.queued`, `.in_progress` or a terminal event, carrying `body`."""
    return {"type": kind, "response": body}


def error_event(message: str, code: str | None, type: str, param: str | None = None) -> Event:
    """The `error` event of a response that fails mid-stream.

    The spec's `ResponseErrorEvent` has `code`, `message` and `param` at the top; the live wire
    (capture `openai-error.1`) nests them, with `type`, under `error`, which is what the `openai`
    SDK reads to raise `APIError`. Both are sent.
    """
    error = {"type": type, "code": code, "message": message, "param": param}
    return {"type": "error", "code": code, "message": message, "param": param, "error": error}


def response_error(code: str | None, status: int = 500) -> str:
    """A failure's code as a Response's `error.code` (one of the spec's codes)."""
    if code in RESPONSE_ERROR_CODES:
        return code
    return "rate_limit_exceeded" if status == 429 else "server_error"


def pieces(text: str) -> list[str]:
    """Split text into token-like deltas (a word with its leading space)."""
    found = _PIECE.findall(text)
    if not found:
        return [text] if text else []
    found[-1] += text[len("".join(found)) :]
    return found


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
    # No `name`, though OpenAI's spec requires it: the live service sends none (every
    # `function_call_arguments.done` in the OpenAI and Azure captures), so no client should
    # come to rely on it here.
    yield {"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]}
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
