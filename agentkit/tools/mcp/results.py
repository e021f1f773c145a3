"""Turn an MCP tool result into the text of a function call output.

Text blocks are sent as they are. Structured content is sent as compact JSON when the result
has no text, or when its text only repeats it (the MCP spec asks servers to serialize it as text
for older clients, often pretty-printed). Images, audio and binary resources are described in
a short placeholder for now: the model is told what came back, not shown it (the Responses API
would accept `input_image` parts in a function call output; not done yet).
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import pydantic_core

if TYPE_CHECKING:
    from mcp.types import CallToolResult

EMPTY_OUTPUT = "(the tool returned no content)"


def result_text(result: CallToolResult) -> str:
    """The output the model reads for a successful call (errors are handled by the caller)."""
    texts = [block.text for block in result.content if block.type == "text"]
    structured = result.structured_content
    if structured is not None and (not texts or _repeats(texts, structured)):
        parts = [pydantic_core.to_json(structured).decode()]
        parts.extend(_describe(block) for block in result.content if block.type != "text")
    else:
        parts = [_describe(block) for block in result.content]
    return "\n".join(part for part in parts if part) or EMPTY_OUTPUT


def _repeats(texts: list[str], structured: Any) -> bool:
    """Whether the text content is just the structured content serialized as JSON."""
    if len(texts) != 1:
        return False
    try:
        return bool(json.loads(texts[0]) == structured)
    except ValueError:
        return False


def error_text(result: CallToolResult) -> str:
    """What an `isError` result says, for an `Error: ...` output."""
    return "\n".join(_describe(block) for block in result.content) or "the tool reported an error"


def _describe(block: Any) -> str:
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
