"""The Conversations API: `/conversations` and its items, as the spec's `Conversations` routes."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from agentkit._ids import new_id
from agentkit.server.config import ServerState
from agentkit.server.errors import invalid, invalid_type, missing, not_found, unknown_parameter
from agentkit.server.http.contexts import conversation_items, conversation_not_found
from agentkit.server.http.json import json_body, json_response, list_page
from agentkit.server.protocol.context import ID_PREFIXES
from agentkit.server.protocol.items import Item, normalize_item
from agentkit.server.protocol.validation import parse_metadata

MAX_ITEMS = 20
"""Items one create call may add (the spec's `maxItems`)."""


async def create_conversation(request: Request) -> Response:
    state, body = await _state_and_body(request)
    _only(body, ("metadata", "items"))
    metadata = {} if body.get("metadata") is None else parse_metadata(body["metadata"])
    items = [] if body.get("items") is None else _new_items(body["items"], "items")
    conversation = await state.offload(state.conversations.create, metadata, items)
    return json_response(conversation)


async def retrieve_conversation(request: Request) -> Response:
    state = _state(request)
    return json_response(_conversation(state, request))


async def update_conversation(request: Request) -> Response:
    state, body = await _state_and_body(request)
    _only(body, ("metadata",))
    if "metadata" not in body:
        raise missing("metadata")
    conversation = _conversation(state, request)
    updated = state.conversations.update(conversation["id"], parse_metadata(body["metadata"]))
    return json_response(updated)


async def delete_conversation(request: Request) -> Response:
    state = _state(request)
    conversation = _conversation(state, request)
    state.conversations.delete(conversation["id"])
    return json_response(
        {"id": conversation["id"], "object": "conversation.deleted", "deleted": True}
    )


async def list_items(request: Request) -> Response:
    state = _state(request)
    items = conversation_items(state, request.path_params["conversation_id"])
    page = list_page(items, request.query_params)
    return json_response(page)


async def create_items(request: Request) -> Response:
    state, body = await _state_and_body(request)
    _only(body, ("items",))
    conversation = _conversation(state, request)
    if "items" not in body:
        raise missing("items")
    items = _new_items(body["items"], "items")
    await state.offload(state.conversations.append, conversation["id"], items)
    return json_response(
        {
            "object": "list",
            "data": items,
            "first_id": items[0]["id"] if items else None,
            "last_id": items[-1]["id"] if items else None,
            "has_more": False,
        }
    )


async def retrieve_item(request: Request) -> Response:
    state = _state(request)
    conversation = _conversation(state, request)
    item = state.conversations.item(conversation["id"], request.path_params["item_id"])
    if item is None:
        raise _item_not_found(request)
    return json_response(item)


async def delete_item(request: Request) -> Response:
    state = _state(request)
    conversation = _conversation(state, request)
    if not state.conversations.delete_item(conversation["id"], request.path_params["item_id"]):
        raise _item_not_found(request)
    return json_response(conversation)


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


async def _state_and_body(request: Request) -> tuple[ServerState, dict[str, Any]]:
    state = _state(request)
    body = await json_body(request, state.config.max_body_bytes)
    if not isinstance(body, dict):
        raise invalid_type("body", "an object", body)
    return state, body


def _only(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in body:
        if key not in allowed:
            raise unknown_parameter(key)


def _conversation(state: ServerState, request: Request) -> dict[str, Any]:
    conversation_id = request.path_params["conversation_id"]
    found = state.conversations.get(conversation_id)
    if found is None:
        raise conversation_not_found(conversation_id)
    return found


def _new_items(value: Any, param: str) -> list[Item]:
    """Input items checked as `input` is, each given an id (references are not kept here)."""
    if not isinstance(value, list):
        raise invalid_type(param, "an array", value)
    if len(value) > MAX_ITEMS:
        raise invalid(
            f"Invalid '{param}': array too long. Expected an array with maximum length "
            f"{MAX_ITEMS}, but got an array with length {len(value)} instead.",
            param,
            "array_above_max_length",
        )
    items = [normalize_item(entry, f"{param}[{index}]") for index, entry in enumerate(value)]
    for index, item in enumerate(items):
        if item["type"] == "item_reference":
            raise invalid("Item references cannot be added to a conversation.", f"{param}[{index}]")
    return [item if "id" in item else {"id": _item_id(item), **item} for item in items]


def _item_id(item: Item) -> str:
    return new_id(ID_PREFIXES.get(item["type"], "item"))


def _item_not_found(request: Request) -> Exception:
    item_id = request.path_params["item_id"]
    return not_found(f"Item with id '{item_id}' not found.", "item_id")


ROUTES: list[tuple[str, Any, list[str]]] = [
    ("/conversations", create_conversation, ["POST"]),
    ("/conversations/{conversation_id}", retrieve_conversation, ["GET"]),
    ("/conversations/{conversation_id}", update_conversation, ["POST"]),
    ("/conversations/{conversation_id}", delete_conversation, ["DELETE"]),
    ("/conversations/{conversation_id}/items", list_items, ["GET"]),
    ("/conversations/{conversation_id}/items", create_items, ["POST"]),
    ("/conversations/{conversation_id}/items/{item_id}", retrieve_item, ["GET"]),
    ("/conversations/{conversation_id}/items/{item_id}", delete_item, ["DELETE"]),
]
