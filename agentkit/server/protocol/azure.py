"""Azure mode (`agentkit serve --azure`): answer as Azure OpenAI does where it differs from OpenAI.

One switch, `ServerConfig.azure`, turns on every difference below (docs/server.md, "Azure mode"):
the image generation tool needs the `x-ms-oai-image-generation-deployment` header and echoes
its model; the web search tool is refused (the how-to page lists it as not supported); files
may not be uploaded with purpose `user_data`; response bodies carry `content_filters`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentkit.server.errors import APIError
from agentkit.server.protocol.items import Item, item_text

IMAGE_DEPLOYMENT_HEADER = "x-ms-oai-image-generation-deployment"
IMAGE_MODEL = "gpt-image-1"
"""The model Azure echoes in an `image_generation` tool that names none."""
UNSUPPORTED_TOOLS = frozenset(
    {"web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11"}
)
REFUSED_PURPOSES = frozenset({"user_data"})
MODEL_ITEMS = frozenset({"message", "function_call", "reasoning"})
"""Output items after which Azure reports content filter results (none after hosted tools)."""
PROMPT_CATEGORIES = ("hate", "jailbreak", "self_harm", "sexual", "violence")
COMPLETION_CATEGORIES = (
    "hate", "protected_material_code", "protected_material_text", "self_harm", "sexual",
    "violence",
)  # fmt: skip
DETECTED = frozenset({"jailbreak", "protected_material_code", "protected_material_text"})
DEPLOYMENT_NOT_FOUND = (
    "The API deployment for this resource does not exist. If you created the deployment within "
    "the last 5 minutes, please wait a moment and try again."
)


def deployment_model(name: str, deployments: Mapping[str, str]) -> str:
    """The model behind deployment `name`; any name is its own model when none are declared.

    An undeclared name is Azure's 404 `DeploymentNotFound` (its wording, as clients quote it).
    """
    if not deployments:
        return name
    if name not in deployments:
        raise APIError(404, DEPLOYMENT_NOT_FOUND, param="model", code="DeploymentNotFound")
    return deployments[name]


def adapt_request(body: Any, headers: Mapping[str, str]) -> Any:
    """Refuse what Azure refuses in a create body; return the body Azure would go on with."""
    if not isinstance(body, dict) or not isinstance(body.get("tools"), list):
        return body
    tools: list[Any] = []
    for index, tool in enumerate(body["tools"]):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind in UNSUPPORTED_TOOLS:
            raise APIError(
                400,
                f"The tool type '{kind}' is not supported by the Azure OpenAI Responses API.",
                param=f"tools[{index}].type",
                code="unsupported_tool_type",
            )
        if kind == "image_generation":
            if not headers.get(IMAGE_DEPLOYMENT_HEADER, "").strip():
                raise APIError(
                    400,
                    f"imagegen deployment must be provided through header: "
                    f"{IMAGE_DEPLOYMENT_HEADER}",
                    type="image_generation_user_error",
                    param="tools",
                    code="invalid_request_error",
                )
            tool = {**tool, "model": tool.get("model") or IMAGE_MODEL}
        tools.append(tool)
    return {**body, "tools": tools}


def check_file_purpose(purpose: str) -> None:
    """Azure refuses some purposes the Files API of OpenAI takes (`user_data`: use `assistants`)."""
    if purpose in REFUSED_PURPOSES:
        raise APIError(400, "Invalid value for purpose.", param="purpose", code="invalidPayload")


def with_content_filters(body: dict[str, Any], filters: list[Any] | None) -> dict[str, Any]:
    """`body` with Azure's `content_filters` field, where Azure puts it (after `background`)."""
    shaped: dict[str, Any] = {}
    for key, value in body.items():
        if key != "content_filters":
            shaped[key] = value
        if key == "background":
            shaped["content_filters"] = filters
    return shaped


def content_filters(
    final: dict[str, Any], context: list[Item], new_count: int
) -> list[dict[str, Any]] | None:
    """What Azure reports for a finished response: nothing filtered, prompt and completion.

    In progress, and after hosted tool calls, Azure sends `null` (as in the captures).
    """
    if final["status"] != "completed":
        return None
    if any(item["type"] not in MODEL_ITEMS for item in final["output"]):
        return None
    earlier = sum(len(item_text(item)) for item in context[: len(context) - new_count])
    prompt = earlier + sum(len(item_text(item)) for item in context[len(context) - new_count :])
    completion = sum(len(item_text(item)) for item in final["output"])
    return [
        _result("prompt", PROMPT_CATEGORIES, earlier, prompt),
        _result("completion", COMPLETION_CATEGORIES, 0, completion),
    ]


def _result(source: str, categories: tuple[str, ...], start: int, end: int) -> dict[str, Any]:
    return {
        "blocked": False,
        "source_type": source,
        "content_filter_raw": None,
        "content_filter_results": {
            name: {"filtered": False, "detected": False}
            if name in DETECTED
            else {"filtered": False, "severity": "safe"}
            for name in categories
        },
        "content_filter_offsets": {"start_offset": start, "end_offset": end, "check_offset": 0},
    }
