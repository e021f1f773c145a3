"""MCP tool results as text, shared by client-side MCP tools and the server's hosted `mcp` tool.

Text blocks are kept as they are. Structured content is used when the result has no text, or
when its text only repeats it (the MCP spec asks servers to serialize it as text too). Images,
audio and binary resources become a short placeholder: the model is told what came back, not
shown it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any


def result_text(result: Any, *, dumps: Callable[[Any], str]) -> str:
    """A `CallToolResult` as text; `dumps` serializes structured content."""
    texts = [block.text for block in result.content if block.type == "text"]
    structured = result.structured_content
    if structured is not None and (not texts or repeats(texts, structured)):
        parts = [dumps(structured)]
        parts.extend(describe(block) for block in result.content if block.type != "text")
    else:
        parts = [describe(block) for block in result.content]
    return "\n".join(part for part in parts if part)


def repeats(texts: list[str], structured: Any) -> bool:
    """Whether the text content is just the structured content serialized as JSON."""
    if len(texts) != 1:
        return False
    try:
        return bool(json.loads(texts[0]) == structured)
    except ValueError:
        return False


def describe(block: Any) -> str:
    """One content block as text: text verbatim, anything binary as a short placeholder."""
    kind = block.type
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind} content: {block.mime_type}, {_size(block.data)}; not shown to the model]"
    if kind == "resource_link":
        return f"[resource link: {block.name} <{block.uri}>]"
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if isinstance(text, str):
            return f"[resource <{resource.uri}>]\n{text}"
        mime = resource.mime_type or "binary"
        return (
            f"[resource <{resource.uri}>: {mime}, {_size(resource.blob)}; not shown to the model]"
        )
    return f"[{kind} content; not shown to the model]"


def _size(data: str) -> str:
    """The decoded size of base64 `data`, for humans."""
    try:
        count = len(base64.b64decode(data, validate=False))
    except ValueError:
        count = len(data)
    return f"{count} bytes" if count < 1024 else f"{count / 1024:.1f} KB"
