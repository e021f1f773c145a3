"""Script what "the model" answers on a scripted-engine server, in-process or remote, over its
HTTP control endpoint (`agentkit serve --engine scripted`, docs/server.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx2

__all__ = ["ScriptedClient", "call", "fail", "say", "think"]

Item = dict[str, Any]
Step = Mapping[str, Any] | Sequence[Mapping[str, Any]]
"""One queued answer: an output item (`say(...)`), a list of them (one response with several
items), or a step object as the control endpoint takes it (`{"output": [...]}`, `fail(...)`)."""


def say(text: str) -> Item:
    """The model answers with a message."""
    return {"type": "message", "text": text}


def call(name: str, arguments: Mapping[str, Any] | str | None = None, **kwargs: Any) -> Item:
    """The model calls the function tool `name` (arguments as a mapping, keywords or a raw
    string, which may be invalid JSON on purpose)."""
    given: Any = kwargs if arguments is None else arguments
    return {"type": "function_call", "name": name, "arguments": given}


def think(summary: str) -> Item:
    """The model reasons first (a reasoning item with this summary)."""
    return {"type": "reasoning", "summary": summary}


def fail(status: int, message: str = "Scripted error.", code: str | None = None) -> Item:
    """The model call fails with this HTTP status and error body."""
    return {"error": {"status": status, "message": message, "code": code}}


class ScriptedClient:
    """Queues steps on, and reads the request log of, a server started with the scripted engine.

    Args:
        url: The server's address (`http://127.0.0.1:8000`); a base URL ending in `/v1` works too.
        api_key: The server's API key, if it checks one.
    """

    def __init__(self, url: str, api_key: str | None = None, *, timeout: float = 30.0) -> None:
        root = url.rstrip("/")
        root = root.removesuffix("/v1").removesuffix("/openai")
        headers = {"api-key": api_key} if api_key else {}
        self.url = root
        self._http = httpx2.Client(base_url=root, headers=headers, timeout=timeout)

    def queue(self, *steps: Step, model: str | None = None) -> dict[str, int]:
        """Queue answers, in order (for `model` only, when given); the pending counts after."""
        payload = [_step(step, model) for step in steps]
        return dict(self._send("POST", "/_agentkit/scripted/queue", payload)["pending"])

    def pending(self) -> dict[str, int]:
        """How many answers wait, per model name (`*` for any model)."""
        return dict(self._send("GET", "/_agentkit/scripted/queue")["pending"])

    def clear(self) -> None:
        """Drop every queued answer."""
        self._send("DELETE", "/_agentkit/scripted/queue")

    def requests(self) -> list[dict[str, Any]]:
        """The `POST /responses` bodies the server received, oldest first (secrets redacted)."""
        return list(self._send("GET", "/_agentkit/requests")["data"])

    def clear_requests(self) -> None:
        self._send("DELETE", "/_agentkit/requests")

    def _send(self, method: str, path: str, payload: Any = None) -> Any:
        content = None if payload is None else json.dumps(payload)
        headers = {"content-type": "application/json"} if content is not None else {}
        response = self._http.request(method, path, content=content, headers=headers)
        if response.status_code == 404:
            raise RuntimeError(
                f"{self.url} has no scripted control endpoint: start it with --engine scripted"
            )
        if response.status_code >= 400:
            message = response.json().get("error", {}).get("message", response.text)
            raise ValueError(f"the scripted server refused {method} {path}: {message}")
        return response.json()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ScriptedClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _step(step: Step, model: str | None) -> dict[str, Any]:
    """The control endpoint's step object for what `queue` was given."""
    found: dict[str, Any]
    if isinstance(step, Mapping):
        found = dict(step) if "output" in step or "error" in step else {"output": [dict(step)]}
    else:
        found = {"output": [dict(item) for item in step]}
    if model is not None:
        found["model"] = model
    return found
