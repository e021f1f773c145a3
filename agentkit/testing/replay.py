"""Replay a cassette as the local server would answer: each request the agent sends is checked
by the service's rules (the local server's own checks) and against what was recorded; the
recorded answer comes back when both hold, and a 400 naming the difference when not."""

from __future__ import annotations

import difflib
import json
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentkit.server.errors import APIError
from agentkit.server.http.app import PREFIXES
from agentkit.server.protocol.context import build_context
from agentkit.server.protocol.reasoning import ReasoningSealer
from agentkit.server.protocol.validation import decode_json, parse_create_request
from agentkit.server.state.store import Store
from agentkit.testing.cassette import Cassette, Exchange, final_body, redacted

__all__ = ["Replayer", "replay_app"]


TERMINAL = ("completed", "incomplete")
STRICT = ("POST", "DELETE")
"""Methods whose requests must all be sent, in the recorded order; a GET may repeat (polling)."""


@dataclass
class Replayer:
    """Plays `cassette` back and keeps every problem found, for the test to fail on."""

    cassette: Cassette
    source: str = "the cassette"
    problems: list[str] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)
    """The `POST /responses` bodies the agent sent, oldest first."""
    _queues: dict[tuple[str, str], deque[Exchange]] = field(default_factory=dict)
    _last: dict[tuple[str, str], Exchange] = field(default_factory=dict)
    _inputs: dict[str, list[Any]] = field(default_factory=dict)
    _store: Store = field(default_factory=lambda: Store(":memory:"))
    _sealer: ReasoningSealer = field(init=False)
    _sent: int = 0

    def __post_init__(self) -> None:
        # The service's (or another server's) sealed reasoning cannot be opened here: passed on.
        self._sealer = _Unsealed(ReasoningSealer.new_key())
        for exchange in self.cassette.exchanges:
            self._queues.setdefault(_key(exchange), deque()).append(exchange)

    @classmethod
    def open(cls, path: str | Path) -> Replayer:
        return cls(Cassette.load(path), str(path))

    async def answer(self, request: Request, path: str) -> Response:
        raw = await request.body()
        self._sent += 1
        number = self._sent
        try:
            context_input = self._checked(request.method, path, raw)
        except APIError as error:
            self.problems.append(
                f"request {number} ({request.method} {path}) breaks the service's rules: "
                f"{error.message}"
            )
            return JSONResponse(error.body(), error.status)
        exchange = self._next(request.method, path)
        if exchange is None:
            return self._refuse(number, f"{request.method} {path} is not in {self.source}", "")
        body = json.loads(raw) if raw else None
        if exchange.body is not None and redacted(body) != exchange.body:
            message = f"request {number} ({exchange.describe()}) differs from {self.source}"
            return self._refuse(number, message, diff(exchange.body, redacted(body)))
        self._keep(exchange, context_input)
        return _recorded(exchange)

    def _checked(self, method: str, path: str, raw: bytes) -> list[Any] | None:
        """The service's rules for a create request; its resolved input (None for others)."""
        if not (method == "POST" and path == "/responses"):
            return None
        body = decode_json(raw)
        self.requests.append(body)
        create = parse_create_request(body)
        context = build_context(
            self._store, self._sealer, create.input, create.previous_response_id
        )
        return context.input if create.store else None

    def _next(self, method: str, path: str) -> Exchange | None:
        key = (method, _pattern(path))
        queue = self._queues.get(key)
        if queue:
            self._last[key] = queue.popleft()
            return self._last[key]
        return self._last.get(key) if method not in STRICT else None

    def _refuse(self, number: int, message: str, difference: str) -> Response:
        self.problems.append(message + (":\n" + difference if difference else ""))
        text = f"agentkit replay: {message}" + (f"\n{difference}" if difference else "")
        error = APIError(400, text, code="cassette_mismatch")
        return JSONResponse(error.body(), 400)

    def _keep(self, exchange: Exchange, context_input: list[Any] | None) -> None:
        """Store a replayed response as the service would, so later requests that chain on it
        (`previous_response_id`) pass the same rules."""
        body = final_body(exchange)
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            return
        if context_input is not None:
            self._inputs[body["id"]] = context_input
        if body.get("status") in TERMINAL and body.get("store", True):
            stored_input = self._inputs.pop(body["id"], None)
            if stored_input is not None and self._store.get(body["id"]) is None:
                self._store.save(body, stored_input)

    def unused(self) -> list[str]:
        """The recorded requests that must be sent and were not."""
        return [
            exchange.describe()
            for key, queue in self._queues.items()
            if key[0] in STRICT
            for exchange in queue
        ]

    def report(self) -> str:
        """Every problem, and the requests the agent never sent ("" when all went as recorded)."""
        lines = list(self.problems)
        if missing := self.unused():
            lines.append(
                f"{len(missing)} recorded request(s) were never sent: " + ", ".join(missing)
            )
        return "\n\n".join(lines)

    def close(self) -> None:
        self._store.close()


class _Unsealed(ReasoningSealer):
    def open(self, item: dict[str, Any], param: str) -> dict[str, Any]:
        return {}


def diff(recorded: Any, sent: Any) -> str:
    """A unified diff of two JSON bodies, keys sorted, one value per line."""
    before = json.dumps(recorded, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    after = json.dumps(sent, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    lines = difflib.unified_diff(before, after, "recorded", "sent", n=3, lineterm="")
    return "\n".join(lines)


def _key(exchange: Exchange) -> tuple[str, str]:
    return exchange.method, _pattern(exchange.path)


def _pattern(path: str) -> str:
    return path.rstrip("/") or "/"


def _recorded(exchange: Exchange) -> Response:
    if exchange.events is not None:
        text = "".join(event + "\n\n" for event in exchange.events)
        return Response(text, exchange.status, media_type="text/event-stream")
    if isinstance(exchange.answer, str):
        return Response(exchange.answer, exchange.status, media_type="text/plain")
    return JSONResponse(exchange.answer, exchange.status)


def replay_app(replayer: Replayer) -> Starlette:
    """An ASGI app serving the Responses API's routes from `replayer`."""

    async def answer(request: Request) -> Response:
        return await replayer.answer(request, "/" + request.path_params["path"])

    routes = [
        Route(prefix + "/{path:path}", answer, methods=["GET", "POST", "DELETE"])
        for prefix in PREFIXES
    ]
    return Starlette(routes=routes)
