"""The hosted `mcp` tool: the server lists a remote MCP server's tools and calls them itself.

What a response gets, as on the service:

- `mcp_list_tools`, before the model runs, for each server whose tools the context does not yet
  hold (or held under another `server_url` or `allowed_tools`). A server that cannot be listed
  fails the whole request: HTTP 424, `external_connector_error`, as the service answers.
- `mcp_approval_request` where `require_approval` asks for one; it ends the response. The
  client answers with an `mcp_approval_response`; an approved call runs before the model does in
  the next response (`mcp_call` with `approval_request_id`), a declined one never runs.
- `mcp_call` with the tool's `output`, or its `error` when the tool failed, the server refused,
  timed out or could not be reached: a failed call is a result for the model, never a 5xx.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from agentkit._ids import new_id
from agentkit._mcp_text import result_text
from agentkit.server.errors import APIError, invalid
from agentkit.server.hosted import Event, HostedContext, Item, register
from agentkit.server.hosted.mcp_client import Endpoint, MCPFailure, call_tool, list_tools
from agentkit.server.hosted.mcp_config import (
    INPUT_ITEMS,
    MCPToolConfig,
    is_allowed,
    needs_approval,
    parse_config,
)
from agentkit.server.hosted.mcp_events import (
    approval_request_events,
    call_events,
    list_events,
)

if TYPE_CHECKING:
    from mcp.types import CallToolResult, Tool

    from agentkit.server.plan import Hosted, Planned, Turn

log = logging.getLogger("agentkit.server.mcp")

DEFAULT_TIMEOUT = 30.0
TIMEOUT_SERVICE = "mcp_timeout"
"""The name under which the app gives the seconds an MCP operation may take."""
ARGUMENTS_DONE = "response.mcp_call_arguments.done"
REQUEST_TIMEOUT = -32001
INVALID_PARAMS = -32602


class HostedMCP:
    """Remote MCP servers, listed and called by the server on the model's behalf."""

    type = "mcp"
    input_items: Mapping[str, Callable[[dict[str, Any], str], Item]] = INPUT_ITEMS

    def parse_config(self, value: dict[str, Any], param: str) -> dict[str, Any]:
        return parse_config(value, param)

    def check_context(self, stored: list[Item], new: list[Item]) -> None:
        """Every approval answers a request that is in the context (stored or sent)."""
        requests: set[str] = set()
        for item in stored + new:
            if item["type"] == "mcp_approval_request":
                requests.add(item["id"])
            elif item["type"] == "mcp_approval_response" and (
                item["approval_request_id"] not in requests
            ):
                raise invalid(
                    "No approval request found for mcp_approval_response with "
                    f"approval_request_id {item['approval_request_id']}.",
                    "input",
                )

    async def before_model(self, ctx: HostedContext) -> list[Item]:
        """Lists the servers the context has no current listing of (all at once)."""
        configs = _configs(ctx.request.tools)
        stale = [c for c in configs if _listing(ctx.items, c) is None]
        seconds = _timeout(ctx)
        listed = await asyncio.gather(*(_list(c, seconds) for c in stale), return_exceptions=True)
        for outcome in listed:
            if isinstance(outcome, BaseException):
                raise outcome  # the first failure, once every listing has ended
        return [o for o in listed if not isinstance(o, BaseException)]

    def approved_steps(self, ctx: HostedContext) -> list[Hosted]:
        """The calls approved in the context that have not run yet: they run before the model."""
        from agentkit.server.plan import Hosted

        configs = _configs(ctx.request.tools)
        steps: list[Hosted] = []
        for request in _approved(ctx.items):
            label = _config(configs, request["server_label"], "input").label
            options = {"server_label": label, "approval_request_id": request["id"]}
            steps.append(Hosted("mcp", request["name"], request["arguments"], options))
        return steps

    def auto_steps(self, turn: Turn, text: str) -> list[Planned]:
        """Calls of the listed tools a word of whose name the user's latest message has."""
        from agentkit.server.engines.auto import mentioned_tools
        from agentkit.server.engines.instances import Seeds, instance_for
        from agentkit.server.plan import Hosted

        request = turn.request
        if request.tool_choice == "none" or _acted(turn.items):
            return []
        seeds = Seeds.from_text(text)
        steps: list[Planned] = []
        for config in _configs(request.tools):
            listing = _listing(turn.items, config) or {"tools": []}
            tools = [t for t in listing["tools"] if is_allowed(config, t["name"], _read_only(t))]
            for tool in mentioned_tools(tools, text):
                arguments = json.dumps(
                    instance_for(tool["input_schema"], seeds), separators=(",", ":")
                )
                steps.append(Hosted("mcp", tool["name"], arguments, {"server_label": config.label}))
        if not request.parallel_tool_calls:
            steps = steps[:1]
        if request.max_tool_calls is not None:
            steps = steps[: request.max_tool_calls]
        return steps

    async def execute(self, step: Hosted, ctx: HostedContext) -> list[Item]:
        """An approval request where `require_approval` wants one, else the call itself."""
        configs = _configs(ctx.request.tools)
        label = step.options.get("server_label")
        if label is None and len(configs) == 1:
            label = configs[0].label
        config = _config(configs, label, "tools")
        approval = step.options.get("approval_request_id")
        tool = _listed(ctx.items, config, step.name)
        if approval is None and needs_approval(config, step.name, _read_only(tool)):
            item = approval_request_item(config.label, step.name, step.arguments)
            await ctx.stream(approval_request_events(ctx.index, item))
            return [item]
        item = call_item(config.label, step.name, step.arguments, approval)
        # The call and its arguments go out before the server is called, the outcome after.
        await ctx.stream(call_events(ctx.index, item, ctx.sender.obfuscate), until=ARGUMENTS_DONE)
        output, error = await _outcome(config, step.name, step.arguments, ctx.items, _timeout(ctx))
        item.update(status="failed" if error is not None else "completed", output=output)
        item["error"] = error
        await ctx.stream(call_events(ctx.index, item, ctx.sender.obfuscate), after=ARGUMENTS_DONE)
        return [item]

    def events(self, index: int, item: Item, obfuscate: bool) -> Iterator[Event] | None:
        kind = item["type"]
        if kind == "mcp_list_tools":
            return list_events(index, item)
        if kind == "mcp_call":
            return call_events(index, item, obfuscate)
        if kind == "mcp_approval_request":
            return approval_request_events(index, item)
        return None

    def summarise(self, item: Item) -> str | None:
        kind = item["type"]
        if kind == "mcp_call":
            if item.get("error") is not None:
                return f"{item['name']} failed: {error_text(item['error'])}"
            return f"{item['name']} returned {item.get('output') or ''}"
        if kind == "mcp_approval_response" and not item["approve"]:
            reason = f" ({item['reason']})" if item.get("reason") else ""
            return f"the MCP tool call was declined{reason}, so it did not run"
        return None


TOOL = HostedMCP()
register(TOOL)


# --- configs and listings -------------------------------------------------------------------


def _configs(tools: list[dict[str, Any]]) -> list[MCPToolConfig]:
    configs = [t for t in tools if isinstance(t, MCPToolConfig)]
    labels = [c.label for c in configs]
    for label in labels:
        if labels.count(label) > 1:
            raise invalid(f"Duplicate MCP server_label: '{label}'.", "tools")
    return configs


def _config(configs: list[MCPToolConfig], label: Any, param: str) -> MCPToolConfig:
    for config in configs:
        if config.label == label:
            return config
    raise invalid(f"MCP server '{label}' is not in the request's 'tools'.", param)


def _timeout(ctx: HostedContext) -> float:
    return float(ctx.services.get(TIMEOUT_SERVICE, DEFAULT_TIMEOUT))


def _fingerprint(config: MCPToolConfig) -> str:
    """What a listing depends on (never the headers), folded into its id."""
    basis = json.dumps([config.url, config["allowed_tools"]], sort_keys=True)
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


def _listing(items: list[Item], config: MCPToolConfig) -> Item | None:
    """The context's latest listing of this server made under the same config, if any."""
    current = "mcpl_" + _fingerprint(config)
    for item in reversed(items):
        if item["type"] == "mcp_list_tools" and item["server_label"] == config.label:
            if item["id"].startswith(current) and item.get("error") is None:
                return item
            return None
    return None


def _listed(items: list[Item], config: MCPToolConfig, name: str) -> Item | None:
    listing = _listing(items, config) or {"tools": []}
    return next((t for t in listing["tools"] if t["name"] == name), None)


def _read_only(tool: Item | None) -> bool:
    annotations = (tool or {}).get("annotations") or {}
    return bool(annotations.get("read_only"))


async def _list(config: MCPToolConfig, seconds: float) -> Item:
    endpoint = Endpoint(config.url, config.secret_headers, seconds)
    try:
        tools = await list_tools(endpoint)
    except MCPFailure as failure:
        log.warning("listing MCP server %r failed: %s", config.label, failure.detail)
        message = (
            f"Error retrieving tool list from MCP server: '{config.label}'. Http status code: "
            f"{failure.status_line}"
        )
        message += _listing_detail(failure)
        raise APIError(
            424, message, type="external_connector_error", param="tools", code="http_error"
        ) from None
    listed = [_tool_item(t) for t in tools]
    return {
        "id": "mcpl_" + _fingerprint(config) + os.urandom(16).hex(),
        "type": "mcp_list_tools",
        "server_label": config.label,
        "tools": [t for t in listed if is_allowed(config, t["name"], _read_only(t))],
    }


def _listing_detail(failure: MCPFailure) -> str:
    """What the service's message leaves out, when the server did not answer with an HTTP error."""
    if failure.kind == "unreachable":
        return f". Could not connect: {failure.detail}."
    if failure.kind == "timeout":
        return f". Timed out: {failure.detail}."
    if failure.kind == "protocol":
        return f". MCP error {failure.code}: {failure.detail}"
    return ""


def _tool_item(tool: Tool) -> Item:
    read_only = bool(tool.annotations and tool.annotations.read_only_hint)
    return {
        "annotations": {"read_only": read_only},
        "description": tool.description,
        "input_schema": tool.input_schema,
        "name": tool.name,
    }


# --- approvals and calls --------------------------------------------------------------------


def _acted(items: list[Item]) -> bool:
    """Whether an MCP tool was asked for, answered or run since the user's latest message."""
    for item in reversed(items):
        if item["type"] == "message" and item.get("role") == "user":
            return False
        if item["type"] in ("mcp_approval_request", "mcp_approval_response", "mcp_call"):
            return True
    return False


def _approved(items: list[Item]) -> list[Item]:
    """The approval requests approved in the context whose call has not run yet."""
    requests = {i["id"]: i for i in items if i["type"] == "mcp_approval_request"}
    ran = {i.get("approval_request_id") for i in items if i["type"] == "mcp_call"}
    approved = [
        i["approval_request_id"]
        for i in items
        if i["type"] == "mcp_approval_response" and i["approve"]
    ]
    pending = dict.fromkeys(a for a in approved if a not in ran and a in requests)
    return [requests[a] for a in pending]


def approval_request_item(label: str, name: str, arguments: str) -> Item:
    return {
        "id": new_id("mcpr"),
        "type": "mcp_approval_request",
        "arguments": arguments,
        "name": name,
        "server_label": label,
    }


def call_item(label: str, name: str, arguments: str, approval_request_id: str | None) -> Item:
    """An `mcp_call` item, in progress until its outcome is known."""
    return {
        "id": new_id("mcp"),
        "type": "mcp_call",
        "status": "in_progress",
        "approval_request_id": approval_request_id,
        "arguments": arguments,
        "error": None,
        "name": name,
        "output": None,
        "server_label": label,
    }


async def _outcome(
    config: MCPToolConfig, name: str, arguments: str, items: list[Item], seconds: float
) -> tuple[str | None, dict[str, Any] | None]:
    """The call's output, or its error in the service's shape."""
    if not is_allowed(config, name, _read_only(_listed(items, config, name))):
        message = f"Tool '{name}' is not allowed on MCP server '{config.label}'."
        return None, {"type": "mcp_protocol_error", "code": INVALID_PARAMS, "message": message}
    try:
        parsed = json.loads(arguments)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        message = "Invalid arguments: expected a JSON object."
        return None, {"type": "mcp_protocol_error", "code": INVALID_PARAMS, "message": message}
    endpoint = Endpoint(config.url, config.secret_headers, seconds)
    try:
        result = await call_tool(endpoint, name, parsed)
    except MCPFailure as failure:
        log.warning("MCP call %r on %r failed: %s", name, config.label, failure.detail)
        return None, _failure_error(failure)
    # A server may quote the credentials it was sent: none reaches the model or the database.
    if result.is_error:
        content = [
            b.model_dump(mode="json", by_alias=True, exclude_none=True) for b in result.content
        ]
        for block in content:
            if isinstance(block.get("text"), str):
                block["text"] = endpoint.scrub(block["text"])
        return None, {"type": "mcp_tool_execution_error", "content": content}
    return endpoint.scrub(output_text(result)), None


def _failure_error(failure: MCPFailure) -> dict[str, Any]:
    if failure.kind == "http":
        return {"type": "http_error", "code": failure.code, "message": failure.status_line}
    if failure.kind == "timeout":
        message = f"Request timed out: {failure.detail}."
        return {"type": "mcp_protocol_error", "code": REQUEST_TIMEOUT, "message": message}
    if failure.kind == "unreachable":
        message = f"{failure.status_line}: could not connect to the MCP server ({failure.detail})."
        return {"type": "http_error", "code": 424, "message": message}
    return {"type": "mcp_protocol_error", "code": failure.code, "message": failure.detail}


def output_text(result: CallToolResult) -> str:
    """A result as the `output` string: its text, or its structured content as JSON.

    Structured content is serialized as the service does (Python's `json.dumps` defaults).
    """
    return result_text(result, dumps=json.dumps)


def error_text(error: dict[str, Any]) -> str:
    """An `mcp_call` error as one line of text (for the `auto` engine's answer)."""
    if error.get("type") == "mcp_tool_execution_error":
        content = error.get("content")
        blocks = content if isinstance(content, list) else []
        texts = [b.get("text", "") for b in blocks if isinstance(b, dict)]
        return " ".join(t for t in texts if t) or "the tool reported an error"
    return str(error.get("message") or error.get("type") or "error")
