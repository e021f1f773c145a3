"""Self-healing replay: mend a transcript the service refused to read, so the run can go on.

Each function is pure: it takes the conversation's items and what the service named, and
returns the items to send instead (or None when it cannot help). What they do:

- `invalid_encrypted_content` (reasoning sealed by another organization, or before a key
  rotation): drop every reasoning item carrying encrypted content, and the ids of the model
  items that followed them (the service refuses those ids without their reasoning).
- "Item with id 'X' not found": send item X by value without its id; a reference (or a bare
  reasoning item) that only the service could resolve is dropped.
- "Duplicate item found with id X": keep the first item with that id, drop the later copies.
- "No tool output found for function call C": answer C with an output that says it was never
  answered, so the model reads what happened (nothing is invented, nothing lost).

The recoverers in `model_call` apply them and warn (`ReplayRepairWarning`); the repaired state
is what is checkpointed next.
"""

from __future__ import annotations

import re
from typing import Any

from agentkit.run.request import replayable

Item = dict[str, Any]
UNANSWERED = (
    "This tool call was never answered: the run went on without its result (no output was "
    "recorded for it)."
)
_ITEM_NOT_FOUND = re.compile(r"Item with id '([^']+)' not found")
_DUPLICATE = re.compile(r"Duplicate item found with id ([^\s.'\"]+)")
_NO_OUTPUT = re.compile(r"No tool output found for function call ([^\s.'\"]+)")


class ReplayRepairWarning(UserWarning):
    """The service refused part of the transcript; the run repaired what it sends and went on."""


def drop_sealed_reasoning(items: list[Item]) -> list[Item] | None:
    """Without the reasoning items whose encrypted content the service cannot open."""
    if not any(_sealed(item) for item in items):
        return None
    bare = [{"type": "reasoning", "summary": []} if _sealed(item) else item for item in items]
    return replayable(bare)


def missing_item_id(message: str) -> str | None:
    found = _ITEM_NOT_FOUND.search(message)
    return found[1] if found else None


def without_missing_item(items: list[Item], item_id: str) -> list[Item] | None:
    """Item `item_id` sent by value; dropped when only its id was known (a reference)."""
    repaired: list[Item] = []
    changed = False
    for item in items:
        if item.get("id") != item_id:
            repaired.append(item)
            continue
        changed = True
        if item.get("type") == "item_reference" or (
            item.get("type") == "reasoning" and not item.get("encrypted_content")
        ):
            repaired.append({"type": "reasoning", "summary": []})  # replayable drops it
        else:
            repaired.append({k: v for k, v in item.items() if k != "id"})
    return replayable(repaired) if changed else None


def duplicate_id(message: str) -> str | None:
    found = _DUPLICATE.search(message)
    return found[1] if found else None


def without_duplicates(items: list[Item], item_id: str, keep_before: int = 0) -> list[Item] | None:
    """The first item with `item_id` kept (counting from 0, or from the items already held by
    the service, `keep_before`), later copies dropped."""
    seen = any(item.get("id") == item_id for item in items[:keep_before])
    repaired = list(items[:keep_before])
    changed = False
    for item in items[keep_before:]:
        if item.get("id") == item_id:
            if seen:
                changed = True
                continue
            seen = True
        repaired.append(item)
    return repaired if changed else None


def unanswered_call(message: str) -> str | None:
    found = _NO_OUTPUT.search(message)
    return found[1] if found else None


def answer_dangling_call(items: list[Item], call_id: str, held: int = 0) -> list[Item] | None:
    """`items` with an output for call `call_id` saying it was never answered, right after the
    call (or, when the service holds the call already, first among the items not yet sent)."""
    position = next(
        (i for i, item in enumerate(items) if _is_call(item) and item.get("call_id") == call_id),
        None,
    )
    if position is None or any(
        item.get("type") == "function_call_output" and item.get("call_id") == call_id
        for item in items
    ):
        return None
    output = {"type": "function_call_output", "call_id": call_id, "output": UNANSWERED}
    at = max(position + 1, held)
    # Outputs follow the calls made together: after the run of calls the call belongs to.
    while at < len(items) and _is_call(items[at]) and at >= position + 1:
        at += 1
    return [*items[:at], output, *items[at:]]


def _sealed(item: Item) -> bool:
    return item.get("type") == "reasoning" and bool(item.get("encrypted_content"))


def _is_call(item: Item) -> bool:
    return item.get("type") == "function_call"
