"""The stream events of the `mcp` tool's output items, in the order the service sends them."""

from __future__ import annotations

import os
from collections.abc import Iterator

from agentkit.server.hosted import Event, Item


def _added(index: int, item: Item) -> Event:
    return {"type": "response.output_item.added", "output_index": index, "item": item}


def _done(index: int, item: Item) -> Event:
    return {"type": "response.output_item.done", "output_index": index, "item": item}


def list_events(index: int, item: Item) -> Iterator[Event]:
    where = {"output_index": index, "item_id": item["id"]}
    yield _added(index, {k: [] if k == "tools" else v for k, v in item.items() if k != "error"})
    yield {"type": "response.mcp_list_tools.in_progress", **where}
    outcome = "failed" if item.get("error") else "completed"
    yield {"type": f"response.mcp_list_tools.{outcome}", **where}
    yield _done(index, item)


def call_events(index: int, item: Item, obfuscate: bool) -> Iterator[Event]:
    """As the service streams a call: one arguments delta; an approved call (one with an
    `approval_request_id`) repeats `mcp_call.in_progress` before the arguments are done."""
    where = {"output_index": index, "item_id": item["id"]}
    started = {**item, "status": "in_progress", "arguments": "", "error": None, "output": None}
    yield _added(index, started)
    yield {"type": "response.mcp_call.in_progress", **where}
    delta: Event = {
        "type": "response.mcp_call_arguments.delta",
        **where,
        "delta": item["arguments"],
    }
    if obfuscate:
        delta["obfuscation"] = os.urandom(8).hex()[: max(2, 16 - len(item["arguments"]))]
    yield delta
    if item.get("approval_request_id") is not None:
        yield {"type": "response.mcp_call.in_progress", **where}
    yield {"type": "response.mcp_call_arguments.done", **where, "arguments": item["arguments"]}
    outcome = "failed" if item.get("error") is not None else "completed"
    yield {"type": f"response.mcp_call.{outcome}", **where}
    yield _done(index, item)


def approval_request_events(index: int, item: Item) -> Iterator[Event]:
    yield _added(index, item)
    yield _done(index, item)
