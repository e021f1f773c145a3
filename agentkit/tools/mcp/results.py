"""Turn an MCP tool result into the text of a function call output.

Text blocks are sent as they are. Structured content is sent as compact JSON when the result
has no text, or when its text only repeats it (the MCP spec asks servers to serialize it as text
for older clients, often pretty-printed). Images, audio and binary resources are described in
a short placeholder for now: the model is told what came back, not shown it (the Responses API
would accept `input_image` parts in a function call output; not done yet).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import pydantic_core

from agentkit._mcp_text import describe
from agentkit._mcp_text import result_text as shared_result_text

if TYPE_CHECKING:
    from mcp.types import CallToolResult

EMPTY_OUTPUT = "(the tool returned no content)"


def result_text(result: CallToolResult) -> str:
    """The output the model reads for a successful call (errors are handled by the caller)."""
    text = shared_result_text(result, dumps=lambda value: pydantic_core.to_json(value).decode())
    return text or EMPTY_OUTPUT


def error_text(result: CallToolResult) -> str:
    """What an `isError` result says, for an `Error: ...` output."""
    return "\n".join(describe(block) for block in result.content) or "the tool reported an error"


def result_parts(result: CallToolResult) -> list[dict[str, Any]] | None:
    """A result with images as output parts (its text, then each image), so the model sees
    them; None when it has no images (plain text is the usual output)."""
    images = [block for block in result.content if block.type == "image"]
    if not images:
        return None
    rest = cast(
        "CallToolResult",
        SimpleNamespace(
            content=[block for block in result.content if block.type != "image"],
            structured_content=result.structured_content,
        ),
    )
    parts: list[dict[str, Any]] = [{"type": "input_text", "text": result_text(rest)}]
    parts += [
        {"type": "input_image", "image_url": f"data:{block.mime_type};base64,{block.data}"}
        for block in images
    ]
    return parts
