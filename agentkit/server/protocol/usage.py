"""Token counts by a documented approximation: one token per 4 characters, rounded up.

There is no tokenizer here (none can be downloaded), so usage is counted the same way
everywhere: each text counts `ceil(len / 4)` tokens (at least 1 when non-empty), each item
costs 4 tokens of framing, and tool definitions count by the length of their JSON.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from agentkit.server.protocol.items import item_text

if TYPE_CHECKING:
    from agentkit.server.protocol.context import Context
    from agentkit.server.protocol.validation import CreateRequest

ITEM_OVERHEAD = 4


def count_text(text: str) -> int:
    return (len(text) + 3) // 4


def count_item(item: dict[str, Any]) -> int:
    kind = item.get("type")
    if kind == "function_call":
        text = item.get("name", "") + item.get("arguments", "")
    elif kind == "reasoning":
        text = " ".join(part.get("text", "") for part in item.get("summary", []))
    else:
        text = item_text(item)
    return ITEM_OVERHEAD + count_text(text)


def count_items(items: list[dict[str, Any]]) -> int:
    return sum(count_item(item) for item in items)


def count_tools(tools: list[dict[str, Any]]) -> int:
    return sum(count_text(json.dumps(tool)) for tool in tools)


def usage_body(
    input_tokens: int, output_tokens: int, *, cached: int = 0, reasoning: int = 0
) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        # The spec and the SDK require `cache_write_tokens`; nothing is written to a cache here.
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input_tokens + output_tokens,
    }


def prompt_tokens(request: CreateRequest, context: Context) -> int:
    """The input tokens of a response to `request` over `context`: its `usage.input_tokens`,
    and what `POST /responses/input_tokens` answers for the same body."""
    tokens = context.stored_tokens + context.input_tokens + count_tools(request.tools)
    return tokens + (count_text(request.instructions) if request.instructions else 0)
