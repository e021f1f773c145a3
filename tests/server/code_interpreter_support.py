"""Helpers shared by the files, containers, code interpreter and sandbox tests."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any

import httpx2
from reference import reference_path

Body = dict[str, Any]


def spec_validator() -> Any:
    """`validate.py`'s checker over OpenAI's spec (skips without the reference material)."""
    path = reference_path("validate.py")
    spec = importlib.util.spec_from_file_location("reference_validate_ci", path)
    assert spec is not None and spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SpecValidator(reference_path("openai-openapi.json"))


def capture_events(name: str) -> list[Body]:
    """A capture's streamed events (`NAME.chunks.txt`, one JSON event per line)."""
    folder = name.split("-", 1)[0]
    lines = reference_path("captures", folder, f"{name}.chunks.txt").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def capture_body(name: str) -> Body:
    folder = name.split("-", 1)[0]
    body: Body = json.loads(reference_path("captures", folder, f"{name}.json").read_text())
    return body


def post(http: httpx2.Client, body: Body, status: int = 200) -> Body:
    answer = http.post("/responses", json=body)
    assert answer.status_code == status, answer.text
    result: Body = answer.json()
    return result


def stream(http: httpx2.Client, body: Body) -> tuple[str, list[Body]]:
    """The raw SSE text of a streamed response, and its events."""
    with http.stream("POST", "/responses", json={**body, "stream": True}) as answer:
        assert answer.status_code == 200
        raw = answer.read().decode()
    events = [json.loads(f.split("\ndata: ", 1)[1]) for f in raw.split("\n\n") if f]
    return raw, events


def calls(body: Body) -> list[Body]:
    return [item for item in body["output"] if item["type"] == "code_interpreter_call"]


def fenced(code: str) -> str:
    """A user message asking to run `code`, as the `auto` engine recognises it."""
    return f"Please run this:\n```python\n{code}\n```"
