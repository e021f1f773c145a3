"""Pure request building and response absorbing: no I/O, tested directly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from agentkit.run.conversation import Conversation, Item

Chaining = Literal["previous_response_id", "items"]
ENCRYPTED_REASONING = "reasoning.encrypted_content"


@dataclass(frozen=True)
class RequestPlan:
    """The parts of every request that stay the same through a run."""

    model: str
    tools: tuple[dict[str, Any], ...] = field(repr=False)  # hosted MCP params carry secrets
    text_format: dict[str, Any] | None
    settings: dict[str, Any]
    store: bool
    chaining: Chaining


def build_request(
    plan: RequestPlan,
    conversation: Conversation,
    instructions: str | None,
    *,
    first_turn: bool = True,
) -> dict[str, Any]:
    """The body of the next `POST /responses`.

    A forced `tool_choice` ("required" or a named tool) applies to a run's first model call
    only; later calls use "auto", or the model could never stop calling tools.
    """
    body: dict[str, Any] = {"model": plan.model}
    if plan.chaining == "previous_response_id" and conversation.last_response_id is not None:
        body["previous_response_id"] = conversation.last_response_id
        body["input"] = conversation.unsent()
    else:
        body["input"] = replayable(conversation.items)
    if instructions:
        body["instructions"] = instructions
    if plan.tools:
        body["tools"] = list(plan.tools)
    if plan.text_format is not None:
        body["text"] = {"format": plan.text_format}
    body["store"] = plan.store
    include = list(plan.settings.get("include", ()))
    if plan.chaining == "items" and ENCRYPTED_REASONING not in include:
        include.append(ENCRYPTED_REASONING)
    body.update(plan.settings)
    if not first_turn and _forces_tools(body.get("tool_choice")):
        body["tool_choice"] = "auto"
    if include:
        body["include"] = include
    return body


def _forces_tools(choice: Any) -> bool:
    return choice == "required" or isinstance(choice, dict)


def replayable(items: list[Item]) -> list[Item]:
    """Items that can be sent by value: reasoning without its encrypted content is dropped.

    Such an item can only be resolved by id from the service's storage, which is exactly
    what is missing when items are sent by value (store=False, or a lost chain).
    """
    if not any(_bare_reasoning(item) for item in items):
        return items
    return without_reasoning(items, _bare_reasoning)


def without_reasoning(
    items: list[Item], drops: Callable[[Item], bool] = lambda item: item.get("type") == "reasoning"
) -> list[Item]:
    """`items` without the reasoning items `drops` picks (default: all), and without the ids of
    the model items that followed one: the service refuses an output item id whose reasoning
    item is missing, but accepts the same item without an id."""
    kept: list[Item] = []
    orphaned = False
    for item in items:
        if drops(item):
            orphaned = True
        elif orphaned and _model_output(item):
            kept.append({k: v for k, v in item.items() if k != "id"})
        else:
            orphaned = False
            kept.append(item)
    return kept


def _bare_reasoning(item: Item) -> bool:
    return item.get("type") == "reasoning" and not item.get("encrypted_content")


def _model_output(item: Item) -> bool:
    kind = item.get("type")
    return kind == "function_call" or (kind == "message" and item.get("role") == "assistant")


def absorb(
    plan: RequestPlan, conversation: Conversation, response_id: str, output: list[Item]
) -> None:
    """Add a response's output to the conversation and note what the service now holds."""
    conversation.items.extend(output)
    conversation.model = plan.model
    chained = plan.chaining == "previous_response_id" and plan.store
    conversation.mark_synced(response_id if chained else None)


def output_text(output: list[Item]) -> str:
    """The text of the assistant messages in `output`, as the SDK's `output_text` does."""
    return "".join(
        part.get("text", "")
        for item in output
        if item.get("type") == "message"
        for part in item.get("content", [])
        if part.get("type") == "output_text"
    )


def function_calls(output: list[Item]) -> list[Item]:
    return [item for item in output if item.get("type") == "function_call"]


def user_message(text: str) -> Item:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def to_items(input: str | list[Item]) -> list[Item]:
    """The user's input as items (a string is one user message)."""
    if isinstance(input, str):
        return [user_message(input)]
    return [dict(item) for item in input]
