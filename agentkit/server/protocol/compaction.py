"""`POST /responses/compact` and `POST /responses/input_tokens`: a context made smaller, or counted.

Compaction keeps the context's user messages as they are and seals everything else (assistant
messages, tool calls and their outputs, reasoning) into one `compaction` item, a Fernet token
under the server's key (as the service's `encrypted_content`, `gAAAAA…`). Sent back as input,
with `previous_response_id` or without, the item stands for what it sealed: the model sees the
same context as before (docs/server.md, "Compaction and token counts").
"""

from __future__ import annotations

import time
from typing import Any

from agentkit._ids import new_id
from agentkit.server.errors import invalid, invalid_type, missing, unknown_parameter
from agentkit.server.protocol.context import Context
from agentkit.server.protocol.items import Item
from agentkit.server.protocol.reasoning import ReasoningSealer
from agentkit.server.protocol.usage import count_items, prompt_tokens, usage_body
from agentkit.server.protocol.validation import CreateRequest, parse_create_request

COMPACT_PARAMETERS = frozenset(
    {
        "model", "input", "previous_response_id", "instructions", "prompt_cache_key",
        "prompt_cache_retention", "prompt_cache_options", "service_tier",
    }
)  # fmt: skip
"""`CompactResponseMethodPublicBody`'s fields."""
COUNT_PARAMETERS = frozenset(
    {
        "model", "input", "previous_response_id", "tools", "text", "reasoning", "truncation",
        "instructions", "conversation", "tool_choice", "parallel_tool_calls",
    }
)  # fmt: skip
"""`TokenCountsBody`'s fields."""
COUNTING_MODEL = "gpt-4.1"
"""The model a token count without one is checked as (the count does not depend on it)."""
AZURE_UNSUPPORTED = (
    "Compaction with /responses/compact is not supported by the Azure OpenAI Responses API."
)


def parse_compact_request(body: Any) -> CreateRequest:
    """A compact body as the create request it stands for (`model` required)."""
    if not isinstance(body, dict):
        raise invalid_type("body", "an object", body)
    _only(body, COMPACT_PARAMETERS)
    if body.get("model") is None:
        raise missing("model")
    # The rest are create parameters too; the prompt cache's options change nothing here.
    return parse_create_request({k: v for k, v in body.items() if k != "prompt_cache_options"})


def parse_count_request(body: Any) -> CreateRequest:
    """A token-count body as the create request it stands for (`model` optional)."""
    if not isinstance(body, dict):
        raise invalid_type("body", "an object", body)
    _only(body, COUNT_PARAMETERS)
    return parse_create_request({**body, "model": body.get("model") or COUNTING_MODEL})


def _only(body: dict[str, Any], known: frozenset[str]) -> None:
    for key in body:
        if key not in known:
            raise unknown_parameter(key)


def compact(request: CreateRequest, context: Context, sealer: ReasoningSealer) -> dict[str, Any]:
    """The `response.compaction` object for a context: its user messages, then one compaction
    item sealing the rest, with usage counted as for a response."""
    kept = [_user_message(item) for item in context.items if _is_user_message(item)]
    sealed = [item for item in context.items if not _is_user_message(item)]
    item_id = new_id("cmp")
    compaction: Item = {
        "id": item_id,
        "type": "compaction",
        "encrypted_content": sealer.seal_payload({"id": item_id, "compaction": sealed}),
    }
    output = [*kept, compaction]
    return {
        "id": new_id("resp"),
        "object": "response.compaction",
        "created_at": int(time.time()),
        "output": output,
        "usage": usage_body(prompt_tokens(request, context), count_items(output)),
    }


def _is_user_message(item: Item) -> bool:
    return item["type"] == "message" and item.get("role") == "user"


def _user_message(item: Item) -> Item:
    return {
        "id": item.get("id") or new_id("msg"),
        "type": "message",
        "status": "completed",
        "content": item["content"],
        "role": "user",
    }


def refuse_on_azure() -> None:
    """Azure's how-to page lists compaction with /responses/compact as not supported."""
    raise invalid(AZURE_UNSUPPORTED, None, "unsupported_endpoint")
