"""The `mcp` tool's request side: its entry in `tools`, its input items, and its policies.

The echoed tool (what the response shows and the database keeps) never holds credentials: the
service shows `"headers": null` and no `authorization`, and so does this server. The values
travel beside the echo in `MCPToolConfig.secret_headers`, an attribute rather than a key, so
nothing that serializes the echo can reach them.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from agentkit._ids import new_id
from agentkit.server.errors import (
    invalid,
    invalid_type,
    invalid_value,
    missing,
    unknown_parameter,
)

Item = dict[str, Any]
LABEL = re.compile(r"^[a-zA-Z0-9_-]+$")
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
APPROVAL_SETTINGS = ("always", "never")
CALL_STATUSES = ("in_progress", "completed", "incomplete", "calling", "failed")
KNOWN = (
    "type", "server_label", "server_url", "headers", "authorization", "allowed_tools",
    "require_approval", "server_description",
)  # fmt: skip
UNSUPPORTED = ("connector_id", "tunnel_id", "allowed_callers", "defer_loading")


class MCPToolConfig(dict[str, Any]):
    """An `mcp` tool as the response echoes it, with its secret headers kept off the dict."""

    def __init__(self, echoed: dict[str, Any], secret_headers: dict[str, str]) -> None:
        super().__init__(echoed)
        self.secret_headers = secret_headers

    @property
    def label(self) -> str:
        return str(self["server_label"])

    @property
    def url(self) -> str:
        return str(self["server_url"])


# --- the tool's entry in `tools` ---------------------------------------------------------------


def parse_config(value: dict[str, Any], param: str) -> MCPToolConfig:
    """Check an `mcp` entry of `tools` and return its echo (with the secrets beside it)."""
    for name in value:
        if name in UNSUPPORTED and value[name] is not None:
            raise invalid(
                f"'{param}.{name}' is not supported by this server: give a 'server_url'.",
                f"{param}.{name}",
                "unsupported_parameter",
            )
        if name not in KNOWN and name not in UNSUPPORTED:
            raise unknown_parameter(f"{param}.{name}")
    label = _label(value, param)
    url = _url(value, param)
    headers = _headers(value.get("headers"), f"{param}.headers")
    token = _optional_str(value, "authorization", param)
    if token is not None and not any(k.lower() == "authorization" for k in headers):
        headers["Authorization"] = f"Bearer {token}"
    echoed: dict[str, Any] = {
        "type": "mcp",
        "allowed_tools": _allowed_tools(value.get("allowed_tools"), f"{param}.allowed_tools"),
        "headers": None,
        "require_approval": _approval(value.get("require_approval"), f"{param}.require_approval"),
    }
    description = _optional_str(value, "server_description", param)
    if description is not None:
        echoed["server_description"] = description
    echoed["server_label"] = label
    echoed["server_url"] = url
    return MCPToolConfig(echoed, headers)


def _label(value: dict[str, Any], param: str) -> str:
    label = value.get("server_label")
    if label is None:
        raise missing(f"{param}.server_label")
    if not isinstance(label, str):
        raise invalid_type(f"{param}.server_label", "a string", label)
    if not LABEL.match(label) or len(label) > 64:
        raise invalid(
            f"Invalid '{param}.server_label': string does not match pattern. Expected a string "
            "that matches the pattern '^[a-zA-Z0-9_-]+$' of at most 64 characters.",
            f"{param}.server_label",
            "invalid_value",
        )
    return label


def _url(value: dict[str, Any], param: str) -> str:
    url = value.get("server_url")
    if url is None:
        raise missing(f"{param}.server_url")
    if not isinstance(url, str):
        raise invalid_type(f"{param}.server_url", "a string", url)
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid or any(c.isspace() for c in url):
        raise invalid(
            f"Invalid '{param}.server_url'. Expected a valid URL, but got a value with an invalid "
            "format.",
            f"{param}.server_url",
            "invalid_value",
        )
    return url


def _headers(value: Any, param: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_type(param, "an object", value)
    headers: dict[str, str] = {}
    for name, header in value.items():
        if not isinstance(header, str):
            raise invalid_type(f"{param}.{name}", "a string", header)
        if not HEADER_NAME.match(name) or any(c in header for c in "\r\n\0"):
            # The value is not quoted: it is a secret.
            raise invalid(f"Invalid '{param}.{name}': not a valid HTTP header.", f"{param}.{name}")
        headers[name] = header
    return headers


def _optional_str(value: dict[str, Any], name: str, param: str) -> str | None:
    found = value.get(name)
    if found is not None and not isinstance(found, str):
        raise invalid_type(f"{param}.{name}", "a string", found)
    return found


def _allowed_tools(value: Any, param: str) -> list[str] | dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return _names(value, param)
    if isinstance(value, dict):
        return _filter(value, param)
    raise invalid_type(param, "an array or an object", value)


def _approval(value: Any, param: str) -> str | dict[str, Any]:
    if value is None:
        return "always"
    if isinstance(value, str):
        if value not in APPROVAL_SETTINGS:
            raise invalid_value(param, value, list(APPROVAL_SETTINGS))
        return value
    if not isinstance(value, dict):
        raise invalid_type(param, "a string or an object", value)
    for name in value:
        if name not in APPROVAL_SETTINGS:
            raise unknown_parameter(f"{param}.{name}")
    return {name: _filter(entry, f"{param}.{name}") for name, entry in value.items()}


def _filter(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid_type(param, "an object", value)
    result: dict[str, Any] = {}
    for name, entry in value.items():
        if name == "tool_names":
            if not isinstance(entry, list):
                raise invalid_type(f"{param}.tool_names", "an array", entry)
            result[name] = _names(entry, f"{param}.tool_names")
        elif name == "read_only":
            if not isinstance(entry, bool):
                raise invalid_type(f"{param}.read_only", "a boolean", entry)
            result[name] = entry
        else:
            raise unknown_parameter(f"{param}.{name}")
    return result


def _names(value: list[Any], param: str) -> list[str]:
    for index, name in enumerate(value):
        if not isinstance(name, str):
            raise invalid_type(f"{param}[{index}]", "a string", name)
    return list(value)


# --- policies -----------------------------------------------------------------------------


def _matches(rule: dict[str, Any], name: str, read_only: bool) -> bool:
    names = rule.get("tool_names")
    if names is not None and name not in names:
        return False
    return rule.get("read_only") in (None, read_only)


def is_allowed(config: MCPToolConfig, name: str, read_only: bool) -> bool:
    """Whether `allowed_tools` lets the model see and call this tool."""
    rule = config["allowed_tools"]
    if rule is None:
        return True
    if isinstance(rule, list):
        return name in rule
    return _matches(rule, name, read_only)


def needs_approval(config: MCPToolConfig, name: str, read_only: bool) -> bool:
    """Whether `require_approval` asks the client before calling this tool.

    A filter object: a tool `always` matches needs approval, one `never` matches does not; any
    other tool needs approval, unless the object gives only an `always` filter.
    """
    rule = config["require_approval"]
    if isinstance(rule, str):
        return rule == "always"
    if "always" in rule and _matches(rule["always"], name, read_only):
        return True
    if "never" in rule and _matches(rule["never"], name, read_only):
        return False
    return "never" in rule or "always" not in rule


# --- input items (replayed by value, and the client's approval answers) ------------------------


def approval_response(value: dict[str, Any], param: str) -> Item:
    _only(value, param, ("type", "id", "approval_request_id", "approve", "reason"))
    approve = value.get("approve")
    if approve is None:
        raise missing(f"{param}.approve")
    if not isinstance(approve, bool):
        raise invalid_type(f"{param}.approve", "a boolean", approve)
    return {
        "id": _string(value, "id", param, required=False) or new_id("mcpa"),
        "type": "mcp_approval_response",
        "approval_request_id": _string(value, "approval_request_id", param),
        "approve": approve,
        "reason": _string(value, "reason", param, required=False),
    }


def approval_request(value: dict[str, Any], param: str) -> Item:
    _only(value, param, ("type", "id", "server_label", "name", "arguments"))
    return {
        "id": _string(value, "id", param),
        "type": "mcp_approval_request",
        "arguments": _string(value, "arguments", param),
        "name": _string(value, "name", param),
        "server_label": _string(value, "server_label", param),
    }


def list_tools(value: dict[str, Any], param: str) -> Item:
    _only(value, param, ("type", "id", "server_label", "tools", "error"))
    tools = value.get("tools")
    if tools is None:
        raise missing(f"{param}.tools")
    if not isinstance(tools, list):
        raise invalid_type(f"{param}.tools", "an array", tools)
    item: Item = {
        "id": _string(value, "id", param),
        "type": "mcp_list_tools",
        "server_label": _string(value, "server_label", param),
        "tools": [_listed_tool(tool, f"{param}.tools[{i}]") for i, tool in enumerate(tools)],
    }
    error = _string(value, "error", param, required=False)
    if error is not None:
        item["error"] = error
    return item


def _listed_tool(value: Any, param: str) -> Item:
    if not isinstance(value, dict):
        raise invalid_type(param, "an object", value)
    _only(value, param, ("name", "description", "input_schema", "annotations"))
    schema = value.get("input_schema")
    if not isinstance(schema, dict):
        raise invalid_type(f"{param}.input_schema", "an object", schema)
    annotations = value.get("annotations")
    if annotations is not None and not isinstance(annotations, dict):
        raise invalid_type(f"{param}.annotations", "an object", annotations)
    return {
        "annotations": annotations,
        "description": _string(value, "description", param, required=False),
        "input_schema": schema,
        "name": _string(value, "name", param),
    }


def call(value: dict[str, Any], param: str) -> Item:
    _only(
        value,
        param,
        ("type", "id", "server_label", "name", "arguments", "output", "error", "status",
         "approval_request_id"),
    )  # fmt: skip
    error = value.get("error")
    if error is not None and not isinstance(error, dict):
        raise invalid_type(f"{param}.error", "an object", error)
    status = value.get("status") or "completed"
    if status not in CALL_STATUSES:
        raise invalid_value(f"{param}.status", status, list(CALL_STATUSES))
    return {
        "id": _string(value, "id", param),
        "type": "mcp_call",
        "status": status,
        "approval_request_id": _string(value, "approval_request_id", param, required=False),
        "arguments": _string(value, "arguments", param),
        "error": error,
        "name": _string(value, "name", param),
        "output": _string(value, "output", param, required=False),
        "server_label": _string(value, "server_label", param),
    }


INPUT_ITEMS = {
    "mcp_approval_response": approval_response,
    "mcp_approval_request": approval_request,
    "mcp_list_tools": list_tools,
    "mcp_call": call,
}


def _only(value: dict[str, Any], param: str, allowed: tuple[str, ...]) -> None:
    for name in value:
        if name not in allowed:
            raise unknown_parameter(f"{param}.{name}")


def _string(value: dict[str, Any], name: str, param: str, *, required: bool = True) -> Any:
    found = value.get(name)
    if found is None:
        if required:
            raise missing(f"{param}.{name}")
        return None
    if not isinstance(found, str):
        raise invalid_type(f"{param}.{name}", "a string", found)
    return found
