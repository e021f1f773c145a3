"""Parse and check a `POST /responses` body: the service's 400s, before anything is stored."""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from agentkit.server.errors import (
    APIError,
    invalid,
    invalid_type,
    invalid_value,
    missing,
    unknown_parameter,
)
from agentkit.server.hosted import HOSTED_TOOLS
from agentkit.server.protocol.items import normalize_input
from agentkit.server.protocol.strict import (
    FORMAT_CODE,
    FUNCTION_CODE,
    check_json_schema,
    check_strict_schema,
    is_strict_compatible,
)

KNOWN_PARAMETERS = frozenset(
    {
        "model", "input", "instructions", "previous_response_id", "store", "include", "tools",
        "tool_choice", "parallel_tool_calls", "text", "reasoning", "max_output_tokens",
        "max_tool_calls", "metadata", "temperature", "top_p", "truncation", "user", "stream",
        "stream_options", "background", "service_tier", "top_logprobs", "safety_identifier",
        "prompt_cache_key", "prompt_cache_retention", "prompt", "conversation",
        "context_management", "moderation", "prompt_cache_options",
    }
)  # fmt: skip
UNSUPPORTED_PARAMETERS = frozenset(
    {"prompt", "context_management", "moderation", "prompt_cache_options"}
)
INCLUDABLE = (
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
    "code_interpreter_call.outputs",
    "computer_call_output.output.image_url",
    "file_search_call.results",
    "message.input_image.image_url",
    "web_search_call.action.sources",
)
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_METADATA_PAIRS = 16
MAX_JSON_DEPTH = 100
"""How deeply a request body may nest arrays and objects (deeper bodies are refused)."""
DOUBLE_DIGITS = 308
"""No integer of at most this many characters exceeds a double's range."""
UNPARSEABLE = (
    "We could not parse the JSON body of your request. The API expects a JSON payload, "
    "but what was sent was not valid JSON."
)


@dataclass
class CreateRequest:
    """A checked `POST /responses` body with the service's defaults applied."""

    model: str
    input: list[dict[str, Any]]
    instructions: str | None = None
    previous_response_id: str | None = None
    store: bool = True
    stream: bool = False
    background: bool = False
    include: list[str] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] = "auto"
    parallel_tool_calls: bool = True
    text_format: dict[str, Any] = field(default_factory=lambda: {"type": "text"})
    verbosity: str = "medium"
    reasoning_effort: str | None = None
    reasoning_summary: str | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    temperature: float = 1.0
    top_p: float = 1.0
    top_logprobs: int = 0
    truncation: str = "disabled"
    user: str | None = None
    service_tier: str = "auto"
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    stream_obfuscation: bool = True
    conversation: str | None = None
    """The id of the conversation whose items are the context (and which keeps this turn)."""


def decode_json(raw: bytes) -> Any:
    """A request body as JSON, or a 400: strict JSON only (no NaN, no lone surrogates, no
    number beyond a double's range such as `1e999`), nested at most `MAX_JSON_DEPTH` deep, so
    nothing later chokes on what was accepted or writes back what is not JSON."""
    try:
        body = json.loads(
            raw, parse_constant=_reject_constant, parse_float=_finite, parse_int=_double_sized
        )
    except _OutOfRange as error:
        raise invalid(
            f"We could not parse the JSON body of your request: the number {_clip(error.text)} is "
            "out of range (numbers must be finite, at most about 1.8e308 in size)."
        ) from None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise invalid(UNPARSEABLE) from None
    _check_decoded(body)
    return body


def _clip(text: str, most: int = 40) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


class _OutOfRange(Exception):
    def __init__(self, text: str) -> None:
        self.text = text


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # `1e999` parses as infinity, which JSON cannot write back
        raise _OutOfRange(text)
    return number


def _double_sized(text: str) -> int:
    number = int(text)
    # Larger integers would overflow every check that compares them with a float.
    if len(text) > DOUBLE_DIGITS and abs(number) > sys.float_info.max:
        raise _OutOfRange(text)
    return number


def _check_decoded(body: Any) -> None:
    pending: list[tuple[Any, int]] = [(body, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_text(value)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise invalid(
                f"Invalid body: arrays and objects may be nested at most {MAX_JSON_DEPTH} "
                "levels deep."
            )
        if isinstance(value, dict):
            for key, entry in value.items():
                _check_text(key)
                pending.append((entry, depth + 1))
        else:
            pending.extend((entry, depth + 1) for entry in value)


def _check_text(text: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, such as "\ud800"
        raise invalid(UNPARSEABLE) from None


def parse_create_request(body: Any) -> CreateRequest:
    """Check a decoded JSON body and return the request it describes, or raise `APIError`."""
    if not isinstance(body, dict):
        raise invalid_type("body", "an object", body)
    for key in body:
        if key not in KNOWN_PARAMETERS:
            raise unknown_parameter(key)
        if key in UNSUPPORTED_PARAMETERS and body[key] is not None:
            raise invalid(f"The '{key}' parameter is not supported by this server.", key)
    if "model" not in body or body["model"] is None:
        raise missing("model")
    model = _string(body, "model")
    if not model:
        raise invalid("Invalid 'model': empty string.", "model", "empty_string")
    request = CreateRequest(model=model, input=normalize_input(body.get("input")))
    for key, parse in _FIELD_PARSERS.items():
        if body.get(key) is not None:
            parse(request, body, key)
    _check_consistency(request)
    return request


def _check_consistency(request: CreateRequest) -> None:
    if request.background and not request.store:
        raise invalid("Background mode requires 'store' to be true.", "background")
    if request.conversation is not None and request.previous_response_id is not None:
        raise invalid(
            "Mutually exclusive parameters: Ensure you are only providing one of: "
            "'previous_response_id' or 'conversation'.",
            "conversation",
            "mutually_exclusive_parameters",
        )
    if not request.input and request.previous_response_id is None:
        raise missing("input")
    names = [t["name"] for t in request.tools if t["type"] == "function"]
    if len(names) != len(set(names)):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise invalid(f"Duplicate tool name: '{duplicate}'.", "tools")
    choice = request.tool_choice
    if (
        isinstance(choice, dict)
        and choice.get("type") == "function"
        and choice["name"] not in names
    ):
        raise invalid(
            f"Tool choice '{choice['name']}' not found in 'tools' parameter.", "tool_choice"
        )
    if choice == "required" and not request.tools:
        raise invalid("Tool choice 'required' must be specified with 'tools'.", "tool_choice")


# --- scalar fields -----------------------------------------------------------------------------


def _string(body: dict[str, Any], key: str) -> str:
    value = body[key]
    if not isinstance(value, str):
        raise invalid_type(key, "a string", value)
    return value


def _bool(body: dict[str, Any], key: str) -> bool:
    value = body[key]
    if not isinstance(value, bool):
        raise invalid_type(key, "a boolean", value)
    return value


def _number(body: dict[str, Any], key: str, *, low: float, high: float) -> float:
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_type(key, "a decimal", value)
    if not low <= value <= high:
        raise invalid(
            f"Invalid '{key}': {_fmt(value)} is out of range; it must be between {_fmt(low)} "
            f"and {_fmt(high)}.",
            key,
            "invalid_value",
        )
    return float(value)


def _integer(body: dict[str, Any], key: str, *, low: int, high: int) -> int:
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(key, "an integer", value)
    if value < low:
        raise invalid(
            f"Invalid '{key}': integer below minimum value. Expected a value >= {low}, "
            f"but got {value} instead.",
            key,
            "integer_below_min_value",
        )
    if value > high:
        raise invalid(
            f"Invalid '{key}': integer above maximum value. Expected a value <= {high}, "
            f"but got {value} instead.",
            key,
            "integer_above_max_value",
        )
    return value


def _choice(body: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = _string(body, key)
    if value not in allowed:
        raise invalid_value(key, value, list(allowed))
    return value


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


_SCALARS: dict[str, Callable[[dict[str, Any], str], Any]] = {
    "instructions": _string,
    "previous_response_id": _string,
    "user": _string,
    "safety_identifier": _string,
    "prompt_cache_key": _string,
    "store": _bool,
    "stream": _bool,
    "background": _bool,
    "parallel_tool_calls": _bool,
    "temperature": partial(_number, low=0, high=2),
    "top_p": partial(_number, low=0, high=1),
    "top_logprobs": partial(_integer, low=0, high=20),
    "max_output_tokens": partial(_integer, low=16, high=10_000_000),
    "max_tool_calls": partial(_integer, low=1, high=10_000),
    "truncation": partial(_choice, allowed=("auto", "disabled")),
    "service_tier": partial(_choice, allowed=("auto", "default", "flex", "scale", "priority")),
    "prompt_cache_retention": partial(_choice, allowed=("in-memory", "24h", "in_memory")),
}


def _set_scalar(request: CreateRequest, body: dict[str, Any], key: str) -> None:
    setattr(request, key, _SCALARS[key](body, key))


# --- structured fields -------------------------------------------------------------------------


def _set_include(request: CreateRequest, body: dict[str, Any], key: str) -> None:
    value = body[key]
    if not isinstance(value, list):
        raise invalid_type(key, "an array", value)
    for index, entry in enumerate(value):
        if not isinstance(entry, str):
            raise invalid_type(f"include[{index}]", "a string", entry)
        if entry not in INCLUDABLE:
            raise invalid_value(f"include[{index}]", entry, list(INCLUDABLE))
    request.include = list(value)


def _set_metadata(request: CreateRequest, body: dict[str, Any], key: str) -> None:
    request.metadata = parse_metadata(body[key], key)


def parse_metadata(value: Any, key: str = "metadata") -> dict[str, str]:
    """A `metadata` object checked as the service does: at most 16 string pairs, short keys."""
    if not isinstance(value, dict):
        raise invalid_type(key, "an object", value)
    if len(value) > MAX_METADATA_PAIRS:
        raise invalid(
            f"Invalid 'metadata': too many properties. Expected an object with at most "
            f"{MAX_METADATA_PAIRS} properties, but got {len(value)} instead.",
            key,
            "object_above_max_properties",
        )
    for name, entry in value.items():
        if len(name) > 64:
            raise invalid(f"Invalid 'metadata': key '{name[:64]}…' is longer than 64.", key)
        if not isinstance(entry, str):
            raise invalid_type(f"metadata.{name}", "a string", entry)
        if len(entry) > 512:
            raise invalid(f"Invalid 'metadata.{name}': string longer than 512.", key)
    return dict(value)


def _set_stream_options(request: CreateRequest, body: dict[str, Any], key: str) -> None:
    value = body[key]
    if not isinstance(value, dict):
        raise invalid_type(key, "an object", value)
    for name in value:
        if name != "include_obfuscation":
            raise unknown_parameter(f"{key}.{name}")
    if "include_obfuscation" in value:
        request.stream_obfuscation = _bool(value, "include_obfuscation")


def _set_reasoning(request: CreateRequest, body: dict[str, Any], key: str) -> None:
    value = body[key]
    if not isinstance(value, dict):
        raise invalid_type(key, "an object", value)
    for name in value:
        if name not in ("effort", "summary", "generate_summary"):
            raise unknown_parameter(f"reasoning.{name}")
    if value.get("effort") is not None:
        efforts = ("none", "minimal", "low", "medium", "high", "xhigh")
        request.reasoning_effort = _choice(value, "effort", efforts)
    summary = value.get("summary", value.get("generate_summary"))
    if summary is not None:
        key_name = "summary" if "summary" in value else "generate_summary"
        request.reasoning_summary = _choice(value, key_name, ("auto", "concise", "detailed"))


def _set_text(request: CreateRequest, body: dict[str, Any], key: str) -> None:
    value = body[key]
    if not isinstance(value, dict):
        raise invalid_type(key, "an object", value)
    for name in value:
        if name not in ("format", "verbosity"):
            raise unknown_parameter(f"text.{name}")
    if value.get("verbosity") is not None:
        request.verbosity = _choice(value, "verbosity", ("low", "medium", "high"))
    if value.get("format") is not None:
        request.text_format = _text_format(value["format"])


def _text_format(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid_type("text.format", "an object", value)
    kind = value.get("type")
    if kind in ("text", "json_object"):
        return {"type": kind}
    if kind != "json_schema":
        raise invalid_value("text.format.type", kind, ["text", "json_schema", "json_object"])
    for name in ("name", "schema"):
        if name not in value:
            raise missing(f"text.format.{name}")
    if not isinstance(value["name"], str) or not TOOL_NAME.match(value["name"]):
        raise invalid(
            "Invalid 'text.format.name': must match '^[a-zA-Z0-9_-]{1,64}$'.", "text.format.name"
        )
    if not isinstance(value["schema"], dict):
        raise invalid_type("text.format.schema", "an object", value["schema"])
    strict = value.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise invalid_type("text.format.strict", "a boolean", strict)
    prefix = f"Invalid schema for response_format '{value['name']}'"
    check_json_schema(value["schema"], prefix, "text.format.schema", FORMAT_CODE)
    if strict:
        check_strict_schema(value["schema"], prefix, "text.format.schema", FORMAT_CODE)
    result: dict[str, Any] = {
        "type": "json_schema",
        "name": value["name"],
        "schema": value["schema"],
        "strict": bool(strict),
    }
    if isinstance(value.get("description"), str):
        result["description"] = value["description"]
    return result


def _set_tools(request: CreateRequest, body: dict[str, Any], key: str) -> None:
    value = body[key]
    if not isinstance(value, list):
        raise invalid_type(key, "an array", value)
    request.tools = [_tool(entry, f"tools[{index}]") for index, entry in enumerate(value)]


def _tool(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid_type(param, "an object", value)
    kind = value.get("type")
    if not isinstance(kind, str):
        raise missing(f"{param}.type")
    if kind in HOSTED_TOOLS:
        return HOSTED_TOOLS[kind].parse_config(value, param)
    if kind != "function":
        supported = ["function", *HOSTED_TOOLS]
        raise invalid(
            f"Tool type '{kind}' is not supported by this server yet; supported tool types: "
            + ", ".join(f"'{t}'" for t in supported)
            + ".",
            f"{param}.type",
            "unsupported_tool_type",
        )
    return _function_tool(value, param)


def _function_tool(value: dict[str, Any], param: str) -> dict[str, Any]:
    allowed = ("type", "name", "description", "parameters", "strict")
    for name in value:
        if name not in allowed:
            raise unknown_parameter(f"{param}.{name}")
    if "name" not in value:
        raise missing(f"{param}.name")
    name = value["name"]
    if not isinstance(name, str) or not TOOL_NAME.match(name):
        raise invalid(
            f"Invalid '{param}.name': string does not match pattern. Expected a string that "
            "matches the pattern '^[a-zA-Z0-9_-]+$' of at most 64 characters.",
            f"{param}.name",
            "invalid_value",
        )
    description = value.get("description")
    if description is not None and not isinstance(description, str):
        raise invalid_type(f"{param}.description", "a string", description)
    parameters = value.get("parameters")
    if parameters is None:
        parameters = {"type": "object", "properties": {}, "additionalProperties": False}
    if not isinstance(parameters, dict):
        raise invalid_type(f"{param}.parameters", "an object", parameters)
    prefix = f"Invalid schema for function '{name}'"
    check_json_schema(parameters, prefix, f"{param}.parameters", FUNCTION_CODE)
    strict = value.get("strict")
    if strict is None:
        # Omitted: strict when the schema allows it, as the service does.
        strict = is_strict_compatible(parameters)
    elif not isinstance(strict, bool):
        raise invalid_type(f"{param}.strict", "a boolean", strict)
    elif strict:
        check_strict_schema(parameters, prefix, f"{param}.parameters", FUNCTION_CODE)
    return {
        "type": "function",
        "name": name,
        "description": description,
        "parameters": parameters,
        "strict": strict,
    }


def _set_tool_choice(request: CreateRequest, body: dict[str, Any], key: str) -> None:
    value = body[key]
    if isinstance(value, str):
        request.tool_choice = _choice(body, key, ("none", "auto", "required"))
        return
    if not isinstance(value, dict):
        raise invalid_type(key, "a string or an object", value)
    if value.get("type") != "function":
        raise invalid_value("tool_choice.type", value.get("type"), ["function"])
    if not isinstance(value.get("name"), str):
        raise missing("tool_choice.name")
    request.tool_choice = {"type": "function", "name": value["name"]}


def _set_conversation(request: CreateRequest, body: dict[str, Any], key: str) -> None:
    value = body[key]
    if isinstance(value, dict):
        for name in value:
            if name != "id":
                raise unknown_parameter(f"{key}.{name}")
        if "id" not in value:
            raise missing(f"{key}.id")
        value = value["id"]
        key = "conversation.id"
    if not isinstance(value, str):
        raise invalid_type(key, "a string", value)
    request.conversation = value


_FIELD_PARSERS: dict[str, Callable[[CreateRequest, dict[str, Any], str], None]] = {
    **dict.fromkeys(_SCALARS, _set_scalar),
    "conversation": _set_conversation,
    "include": _set_include,
    "metadata": _set_metadata,
    "stream_options": _set_stream_options,
    "reasoning": _set_reasoning,
    "text": _set_text,
    "tools": _set_tools,
    "tool_choice": _set_tool_choice,
}

__all__ = [
    "APIError",
    "CreateRequest",
    "decode_json",
    "parse_create_request",
    "parse_metadata",
]
