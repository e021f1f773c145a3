"""Input items: check each one's shape and bring it to the form the service stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentkit.server.errors import invalid, invalid_type, invalid_value, missing, unknown_parameter

Item = dict[str, Any]
ROLES = ("user", "system", "developer", "assistant")
INPUT_PARTS = ("input_text", "input_image", "input_file")
OUTPUT_PARTS = ("output_text", "refusal")
IMAGE_DETAILS = ("low", "high", "auto", "original")
FILE_DETAILS = ("auto", "low", "high")

# Item types that the model produces; a replayed reasoning item must be followed by one of them.
MODEL_ITEM_TYPES = frozenset({"message", "function_call", "mcp_approval_request"})


def normalize_input(value: Any) -> list[Item]:
    """The request's `input` as a list of normalized items (a string is one user message)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [_message({"role": "user", "content": value}, "input")]
    if not isinstance(value, list):
        raise invalid_type("input", "a string or an array", value)
    return [normalize_item(entry, f"input[{index}]") for index, entry in enumerate(value)]


def normalize_item(value: Any, param: str) -> Item:
    if not isinstance(value, dict):
        raise invalid_type(param, "an object", value)
    kind = value.get("type")
    if kind is None:
        if "role" in value:
            kind = "message"
        elif "id" in value:
            kind = "item_reference"
        else:
            raise missing(f"{param}.type")
    normalizer = ITEM_NORMALIZERS.get(kind) if isinstance(kind, str) else None
    if normalizer is None:
        # The service names the item, not its `type`, as the param of this error.
        raise invalid_value(param, kind, sorted(ITEM_NORMALIZERS))
    return normalizer(value, param)


def only_fields(value: dict[str, Any], param: str, allowed: tuple[str, ...]) -> None:
    """Refuse any field of `value` not in `allowed` (the service's `unknown_parameter`)."""
    for name in value:
        if name not in allowed:
            raise unknown_parameter(f"{param}.{name}")


def string_field(value: dict[str, Any], name: str, param: str, *, required: bool = True) -> Any:
    """`value[name]` checked to be a string (None when absent and not required)."""
    if name not in value or value[name] is None:
        if required:
            raise missing(f"{param}.{name}")
        return None
    if not isinstance(value[name], str):
        raise invalid_type(f"{param}.{name}", "a string", value[name])
    return value[name]


def _with_id(value: dict[str, Any], param: str, item: Item) -> Item:
    item_id = string_field(value, "id", param, required=False)
    if item_id is not None:
        return {"id": item_id, **item}
    return item


def _message(value: dict[str, Any], param: str) -> Item:
    only_fields(value, param, ("type", "role", "content", "id", "status", "phase"))
    role = value.get("role")
    if role is None:
        raise missing(f"{param}.role")
    if role not in ROLES:
        raise invalid_value(f"{param}.role", role, list(ROLES))
    content = value.get("content")
    if content is None:
        raise missing(f"{param}.content")
    item: Item = {"type": "message", "role": role, "content": _content(role, content, param)}
    if role == "assistant" and isinstance(value.get("phase"), str):
        item["phase"] = value["phase"]
    item["status"] = "completed"
    return _with_id(value, param, item)


def _content(role: str, content: Any, param: str) -> list[Item]:
    text_part = "output_text" if role == "assistant" else "input_text"
    if isinstance(content, str):
        return [_text_part(text_part, content)]
    if not isinstance(content, list):
        raise invalid_type(f"{param}.content", "a string or an array", content)
    allowed = OUTPUT_PARTS if role == "assistant" else INPUT_PARTS
    return [_part(part, f"{param}.content[{index}]", allowed) for index, part in enumerate(content)]


def _text_part(kind: str, text: str) -> Item:
    if kind == "output_text":
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {"type": "input_text", "text": text}


def _part(part: Any, param: str, allowed: tuple[str, ...]) -> Item:
    if not isinstance(part, dict):
        raise invalid_type(param, "an object", part)
    kind = part.get("type")
    if kind not in allowed:
        # As the service: "Invalid value: 'input_text'. Supported values are: 'output_text' and
        # 'refusal'." with the part (input[1].content[0]) as the param.
        raise invalid_value(param, kind, list(allowed))
    return PART_NORMALIZERS[kind](part, param)


def _input_text(part: dict[str, Any], param: str) -> Item:
    only_fields(part, param, ("type", "text"))
    return {"type": "input_text", "text": string_field(part, "text", param)}


def _output_text(part: dict[str, Any], param: str) -> Item:
    only_fields(part, param, ("type", "text", "annotations", "logprobs"))
    annotations = part.get("annotations") or []
    if not isinstance(annotations, list):
        raise invalid_type(f"{param}.annotations", "an array", annotations)
    logprobs = part.get("logprobs") or []
    if not isinstance(logprobs, list):
        raise invalid_type(f"{param}.logprobs", "an array", logprobs)
    return {
        "type": "output_text",
        "text": string_field(part, "text", param),
        "annotations": annotations,
        "logprobs": logprobs,
    }


def _refusal(part: dict[str, Any], param: str) -> Item:
    only_fields(part, param, ("type", "refusal"))
    return {"type": "refusal", "refusal": string_field(part, "refusal", param)}


def _input_image(part: dict[str, Any], param: str) -> Item:
    only_fields(part, param, ("type", "image_url", "file_id", "detail"))
    image_url = string_field(part, "image_url", param, required=False)
    file_id = string_field(part, "file_id", param, required=False)
    if image_url is None and file_id is None:
        raise missing(f"{param}.image_url")
    if image_url is not None and not image_url.startswith(("http://", "https://", "data:")):
        raise invalid(
            f"Invalid '{param}.image_url'. Expected a valid URL, but got a value with an "
            "invalid format.",
            f"{param}.image_url",
            "invalid_value",
        )
    detail = part.get("detail") or "auto"
    if detail not in IMAGE_DETAILS:
        raise invalid_value(f"{param}.detail", detail, list(IMAGE_DETAILS))
    return {"type": "input_image", "image_url": image_url, "file_id": file_id, "detail": detail}


def _input_file(part: dict[str, Any], param: str) -> Item:
    only_fields(part, param, ("type", "file_id", "file_data", "file_url", "filename", "detail"))
    result: Item = {"type": "input_file"}
    for name in ("file_id", "file_data", "file_url", "filename"):
        field_value = string_field(part, name, param, required=False)
        if field_value is not None:
            result[name] = field_value
    if part.get("detail") is not None:
        if part["detail"] not in FILE_DETAILS:
            raise invalid_value(f"{param}.detail", part["detail"], list(FILE_DETAILS))
        result["detail"] = part["detail"]
    if not any(name in result for name in ("file_id", "file_data", "file_url")):
        raise invalid(
            f"Invalid '{param}': one of 'file_id', 'file_data' or 'file_url' is required.", param
        )
    if "file_data" in result and "filename" not in result:
        raise missing(f"{param}.filename")
    return result


def _function_call(value: dict[str, Any], param: str) -> Item:
    only_fields(value, param, ("type", "id", "call_id", "name", "arguments", "status", "namespace"))
    item: Item = {
        "type": "function_call",
        "status": "completed",
        "arguments": string_field(value, "arguments", param),
        "call_id": string_field(value, "call_id", param),
        "name": string_field(value, "name", param),
    }
    return _with_id(value, param, item)


def _function_call_output(value: dict[str, Any], param: str) -> Item:
    only_fields(value, param, ("type", "id", "call_id", "output", "status"))
    output = value.get("output")
    if output is None:
        raise missing(f"{param}.output")
    if isinstance(output, list):
        output = [
            _part(part, f"{param}.output[{index}]", INPUT_PARTS)
            for index, part in enumerate(output)
        ]
    elif not isinstance(output, str):
        raise invalid_type(f"{param}.output", "a string or an array", output)
    item: Item = {
        "type": "function_call_output",
        "call_id": string_field(value, "call_id", param),
        "output": output,
        "status": "completed",
    }
    return _with_id(value, param, item)


def _reasoning(value: dict[str, Any], param: str) -> Item:
    only_fields(value, param, ("type", "id", "summary", "encrypted_content", "content", "status"))
    summary = value.get("summary")
    if summary is None:
        summary = []
    if not isinstance(summary, list):
        raise invalid_type(f"{param}.summary", "an array", summary)
    for index, part in enumerate(summary):
        part_param = f"{param}.summary[{index}]"
        if not isinstance(part, dict) or part.get("type") != "summary_text":
            raise invalid_value(part_param, _kind(part), ["summary_text"])
        string_field(part, "text", part_param)
    item: Item = {"type": "reasoning", "summary": summary}
    encrypted = string_field(value, "encrypted_content", param, required=False)
    if encrypted is not None:
        item["encrypted_content"] = encrypted
    item_id = string_field(value, "id", param, required=False)
    if item_id is None and encrypted is None:
        raise missing(f"{param}.id")
    return _with_id(value, param, item)


def _compaction(value: dict[str, Any], param: str) -> Item:
    """A compaction item from `POST /responses/compact`, sent back as it came."""
    only_fields(value, param, ("type", "id", "encrypted_content", "created_by"))
    item: Item = {
        "type": "compaction",
        "encrypted_content": string_field(value, "encrypted_content", param),
    }
    return _with_id(value, param, item)


def _item_reference(value: dict[str, Any], param: str) -> Item:
    only_fields(value, param, ("type", "id"))
    return {"type": "item_reference", "id": string_field(value, "id", param)}


def _kind(value: Any) -> Any:
    return value.get("type") if isinstance(value, dict) else value


ITEM_NORMALIZERS: dict[str, Callable[[dict[str, Any], str], Item]] = {
    "message": _message,
    "function_call": _function_call,
    "function_call_output": _function_call_output,
    "reasoning": _reasoning,
    "compaction": _compaction,
    "item_reference": _item_reference,
}
PART_NORMALIZERS: dict[str, Callable[[dict[str, Any], str], Item]] = {
    "input_text": _input_text,
    "input_image": _input_image,
    "input_file": _input_file,
    "output_text": _output_text,
    "refusal": _refusal,
}


def item_text(item: Item) -> str:
    """The plain text of a message or tool output item, for engines and token counts."""
    content = item.get("content", item.get("output"))
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = [p.get("text") or p.get("refusal") or "" for p in content if isinstance(p, dict)]
    return "\n".join(t for t in texts if t)
