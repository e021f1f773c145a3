"""What the model sees: the stored chain plus the new input, checked by the service's rules."""

from __future__ import annotations

from dataclasses import dataclass

from agentkit._ids import new_id
from agentkit.server.errors import invalid, not_found
from agentkit.server.hosted import HOSTED_TOOLS
from agentkit.server.protocol.items import MODEL_ITEM_TYPES, Item
from agentkit.server.protocol.reasoning import ReasoningSealer, check_reasoning_accepted
from agentkit.server.protocol.usage import count_items
from agentkit.server.state.store import Store

ID_PREFIXES = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "reasoning": "rs",
}


@dataclass
class Context:
    """The model's context for one response."""

    items: list[Item]
    """Everything, oldest first: the stored chain, then the new input."""
    input: list[Item]
    """The new input items, resolved and with ids: what this response stores as its input."""
    stored_count: int
    """How many leading items came from `previous_response_id`."""
    stored_tokens: int
    """The stored items' tokens: summed per stored response, never recounted item by item."""
    input_tokens: int
    """The new input's tokens."""


def build_context(
    store: Store,
    sealer: ReasoningSealer,
    input_items: list[Item],
    previous_response_id: str | None,
    *,
    reasoning_model: bool = True,
) -> Context:
    """Resolve references, then apply every rule the service checks before generating."""
    stored: list[Item] = []
    stored_tokens = 0
    if previous_response_id is not None:
        chain = store.chain(previous_response_id)
        if chain is None:
            raise invalid(
                f"Previous response with id '{previous_response_id}' not found.",
                "previous_response_id",
                "previous_response_not_found",
            )
        stored, stored_tokens = list(chain.items), chain.weight
    resolved = [_resolve(store, sealer, item, index) for index, item in enumerate(input_items)]
    # Ids made here are new by construction: only ids the client sent can repeat the chain's.
    sent_ids = any("id" in item for item in input_items)
    _check_duplicates(stored if sent_ids else [], resolved)
    _check_tool_pairs(stored, resolved)
    _check_reasoning_followers(resolved)
    check_reasoning_accepted(stored + resolved, reasoning_model)
    for tool in HOSTED_TOOLS.values():
        tool.check_context(stored, resolved)
    return Context(stored + resolved, resolved, len(stored), stored_tokens, count_items(resolved))


def _resolve(store: Store, sealer: ReasoningSealer, item: Item, index: int) -> Item:
    param = f"input[{index}]"
    kind = item["type"]
    if kind == "item_reference":
        return _lookup(store, item["id"], param)
    if kind == "reasoning":
        if "encrypted_content" in item:
            sealer.open(item, param)
            return item if "id" in item else {"id": new_id("rs"), **item}
        return _lookup(store, item["id"], param)
    if "id" in item:
        return item
    return {"id": new_id(ID_PREFIXES.get(kind, "item")), **item}


def _lookup(store: Store, item_id: str, param: str) -> Item:
    found = store.item(item_id)
    if found is None:
        raise not_found(f"Item with id '{item_id}' not found.", param)
    return found


def _check_duplicates(stored: list[Item], new: list[Item]) -> None:
    seen = {item["id"] for item in stored if "id" in item}
    for item in new:
        if item["id"] in seen:
            raise invalid(f"Duplicate item found with id {item['id']}.", "input")
        seen.add(item["id"])


def _check_tool_pairs(stored: list[Item], new: list[Item]) -> None:
    calls: dict[str, bool] = {}  # call_id -> answered
    for item in stored + new:
        kind = item["type"]
        if kind == "function_call":
            calls.setdefault(item["call_id"], False)
        elif kind == "function_call_output":
            if item["call_id"] not in calls:
                raise invalid(
                    f"No tool call found for function call output with call_id {item['call_id']}.",
                    "input",
                )
            calls[item["call_id"]] = True
    for call_id, answered in calls.items():
        if not answered:
            raise invalid(f"No tool output found for function call {call_id}.", "input")


def _check_reasoning_followers(new: list[Item]) -> None:
    for index, item in enumerate(new):
        if item["type"] != "reasoning":
            continue
        follower = new[index + 1] if index + 1 < len(new) else None
        if follower is None or not _is_model_item(follower):
            raise invalid(
                f"Item '{item['id']}' of type 'reasoning' was provided without its required "
                "following item.",
                "input",
            )


def _is_model_item(item: Item) -> bool:
    if item["type"] == "message":
        return bool(item.get("role") == "assistant")
    return item["type"] in MODEL_ITEM_TYPES or item["type"].endswith("_call")
