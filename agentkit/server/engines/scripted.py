"""The `scripted` engine: plays queued outputs in order, per model name or globally."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from agentkit.server.errors import APIError, invalid
from agentkit.server.plan import (
    Abort,
    Call,
    Drop,
    Fail,
    Hold,
    Hosted,
    Malformed,
    Pace,
    Planned,
    Raw,
    Say,
    Stall,
    Think,
    Turn,
    Wait,
)

Step = list[Planned] | Fail


class ScriptedEngine:
    """Queue outputs with `queue(...)`; each model call takes the next step."""

    name = "scripted"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str | None, deque[Step]] = {}

    def queue(self, *steps: Planned | list[Planned] | Fail, model: str | None = None) -> None:
        """Add steps; a step is one output item, a list of them (one response), or a `Fail`."""
        normalized: list[Step] = [s if isinstance(s, list | Fail) else [s] for s in steps]
        with self._lock:
            self._queues.setdefault(model, deque()).extend(normalized)

    def queue_json(self, payload: Any) -> int:
        """Queue steps given as JSON (the HTTP control endpoint's format); returns how many."""
        entries = payload if isinstance(payload, list) else [payload]
        steps = [(step_from_json(e, f"[{i}]"), _model(e)) for i, e in enumerate(entries)]
        for step, model in steps:
            self.queue(step, model=model)
        return len(steps)

    def pending(self) -> dict[str, int]:
        with self._lock:
            return {(k or "*"): len(v) for k, v in self._queues.items() if v}

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()

    async def respond(self, turn: Turn) -> list[Planned]:
        with self._lock:
            queue = self._queues.get(turn.model) or self._queues.get(None)
            step = queue.popleft() if queue else None
        if step is None:
            raise invalid(
                f"The scripted engine has no queued output for model '{turn.model}'.",
                "model",
                "scripted_queue_empty",
            )
        if isinstance(step, Fail):
            raise step.error()
        return list(step)


def _model(entry: Any) -> str | None:
    model = entry.get("model") if isinstance(entry, dict) else None
    return model if isinstance(model, str) else None


def step_from_json(entry: Any, where: str) -> Planned | list[Planned] | Fail:
    """One queued step from JSON: {"output": [...]} or {"error": {...}}."""
    if not isinstance(entry, dict):
        raise invalid(f"Step {where} must be an object.")
    if "error" in entry:
        return _fail(entry["error"], where)
    output = entry.get("output")
    if not isinstance(output, list) or not output:
        raise invalid(f"Step {where} needs a non-empty 'output' array or an 'error' object.")
    return [_planned(item, f"{where}.output[{i}]") for i, item in enumerate(output)]


def _fail(error: Any, where: str) -> Fail:
    if not isinstance(error, dict) or not isinstance(error.get("status"), int):
        raise invalid(f"Step {where}.error needs an integer 'status'.")
    status = error["status"]
    if not 400 <= status <= 599:
        raise invalid(f"Step {where}.error.status must be between 400 and 599.")
    headers = error.get("headers") or {}
    return Fail(
        status,
        str(error.get("message", "Scripted error.")),
        str(error.get("type", "server_error" if status >= 500 else "invalid_request_error")),
        error.get("code"),
        {str(k): str(v) for k, v in headers.items()},
    )


def _planned(item: Any, where: str) -> Planned:
    if not isinstance(item, dict):
        raise invalid(f"Output {where} must be an object.")
    kind = item.get("type")
    try:
        if kind == "message":
            return Say(str(item["text"]))
        if kind == "function_call":
            arguments = item.get("arguments", "{}")
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments)
            return Call(str(item["name"]), arguments, item.get("call_id"))
        if kind == "reasoning":
            return Think(str(item.get("summary", "")))
        if kind == "raw":
            return Raw(dict(item["item"]))
        if kind == "image_generation_call":
            options = {k: str(item[k]) for k in ("prompt", "revised_prompt") if k in item}
            return Hosted("image_generation", options={"prompt": str(item["prompt"]), **options})
        if kind == "mcp_call":
            return _mcp_call(item)
        if kind == "code_interpreter_call":
            return Hosted("code_interpreter", options={"code": str(item["code"])})
        if isinstance(kind, str) and kind in CONTROLS:
            return CONTROLS[kind](item)
    except (KeyError, TypeError, ValueError) as exc:
        raise invalid(f"Output {where} is missing or has a bad field: {exc}.") from None
    raise invalid(
        f"Output {where} has type {kind!r}; expected message, function_call, reasoning, "
        "image_generation_call, mcp_call, code_interpreter_call, raw, or one of the controls "
        "wait, pace, queued, error, drop, stall, malformed."
    )


def _seconds(item: dict[str, Any], name: str = "seconds") -> float:
    value = float(item[name])
    if not 0 <= value <= MAX_SECONDS:
        raise ValueError(f"'{name}' must be between 0 and {MAX_SECONDS}")
    return value


def _count(item: dict[str, Any]) -> int:
    value = item["after"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("'after' must be a whole number of events, 0 or more")
    return value


def _malformed(item: dict[str, Any]) -> Malformed:
    body = str(item.get("body", "truncated"))
    if body not in ("truncated", "html"):
        raise ValueError("'body' must be 'truncated' or 'html'")
    return Malformed(body)


MAX_SECONDS = 3600.0
CONTROLS: dict[str, Callable[[dict[str, Any]], Planned]] = {
    "wait": lambda item: Wait(_seconds(item)),
    "pace": lambda item: Pace(_seconds(item, "ms")),
    "queued": lambda item: Hold(_seconds(item)),
    "error": lambda item: Abort(
        str(item.get("message", Abort.message)),
        str(item.get("code", "server_error")),
        str(item.get("error_type", "server_error")),
    ),
    "drop": lambda item: Drop(_count(item)),
    "stall": lambda item: Stall(_count(item), _seconds(item)),
    "malformed": _malformed,
}
"""Control steps over HTTP: `{"type": "wait", "seconds": 2}` and the like (docs/server.md)."""


def _mcp_call(item: dict[str, Any]) -> Hosted:
    """{"type": "mcp_call", "server_label", "name", "arguments"}: a call of a remote MCP tool."""
    arguments = item.get("arguments", "{}")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    options = {"server_label": str(item["server_label"])} if "server_label" in item else {}
    return Hosted("mcp", str(item["name"]), arguments, options)


__all__ = ["APIError", "ScriptedEngine", "step_from_json"]
