"""Turn an MCP tool result into the text of a function call output.

Text blocks are sent as they are. Structured content is sent as compact JSON when the result
has no text, or when its text only repeats it (the MCP spec asks servers to serialize it as text
for older clients, often pretty-printed). Images, audio and binary resources are described in
a short placeholder for now: the model is told what came back, not shown it (the Responses API
would accept `input_image` parts in a function call output; not done yet).
"""

from __future__ import annotations

import base64
import io
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
    them; None when it has no image the model can be shown (plain text is the usual output).

    An image that does not decode (a wrong type, a corrupt file) stays a placeholder in the
    text: the service would refuse the whole request for it.
    """
    shown = [block for block in result.content if block.type == "image" and _decodes(block)]
    if not shown:
        return None
    rest = cast(
        "CallToolResult",
        SimpleNamespace(
            content=[block for block in result.content if block not in shown],
            structured_content=result.structured_content,
        ),
    )
    parts: list[dict[str, Any]] = [{"type": "input_text", "text": result_text(rest)}]
    parts += [
        {"type": "input_image", "image_url": f"data:{block.mime_type};base64,{block.data}"}
        for block in shown
    ]
    return parts


IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})


def _decodes(block: Any) -> bool:
    """Whether an image block is a well-formed PNG, JPEG, WEBP or GIF (checksums included)."""
    if block.mime_type not in IMAGE_TYPES:
        return False
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(base64.b64decode(block.data, validate=True))) as picture:
            picture.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return False
    return True
