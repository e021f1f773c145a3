"""MCP tool results → function call output text."""

from __future__ import annotations

from typing import Any

from mcp.types import (
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from agentkit.tools.mcp.results import EMPTY_OUTPUT, error_text, result_text


def result(*content: Any, structured: Any = None, error: bool = False) -> CallToolResult:
    return CallToolResult(content=list(content), structured_content=structured, is_error=error)


def test_text_blocks_are_sent_as_they_are() -> None:
    output = result(TextContent(text="line one"), TextContent(text="line two"))

    assert result_text(output) == "line one\nline two"


def test_structured_content_is_compact_json() -> None:
    output = result(structured={"x": 1, "label": "café"})

    assert result_text(output) == '{"x":1,"label":"café"}'


def test_structured_content_repeated_as_text_is_sent_once_as_compact_json() -> None:
    output = result(TextContent(text='{\n  "x": 1,\n  "y": 2\n}'), structured={"x": 1, "y": 2})

    assert result_text(output) == '{"x":1,"y":2}'


def test_text_that_says_more_than_the_structured_content_wins() -> None:
    output = result(TextContent(text="sunny in Paris"), structured={"result": "sunny in Paris"})

    assert result_text(output) == "sunny in Paris"


def test_images_audio_and_binary_resources_become_short_placeholders() -> None:
    output = result(
        TextContent(text="a chart"),
        ImageContent(data="iVBORw0KGgo=", mime_type="image/png"),
        EmbeddedResource(
            resource=BlobResourceContents(
                uri="file:///r.bin", blob="AAAA" * 512, mime_type="application/pdf"
            )
        ),
    )

    assert result_text(output) == (
        "a chart\n"
        "[image content: image/png, 8 bytes; not shown to the model]\n"
        "[resource <file:///r.bin>: application/pdf, 1.5 KB; not shown to the model]"
    )


def test_text_resources_and_links_are_described() -> None:
    output = result(
        EmbeddedResource(resource=TextResourceContents(uri="file:///notes.txt", text="hello")),
        ResourceLink(name="report", uri="https://example.com/report"),
    )

    assert result_text(output) == (
        "[resource <file:///notes.txt>]\nhello\n[resource link: report <https://example.com/report>]"
    )


def test_an_empty_result_says_so() -> None:
    assert result_text(result()) == EMPTY_OUTPUT


def test_error_text_is_what_the_tool_said() -> None:
    assert error_text(result(TextContent(text="no such city"), error=True)) == "no such city"
    assert error_text(result(error=True)) == "the tool reported an error"
