"""`agentkit record`: a proxy that forwards an agent's requests to a real endpoint and keeps
every exchange in a cassette (`agentkit.testing.cassette`), without secrets."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import openai
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agentkit.server.http.app import PREFIXES
from agentkit.testing.cassette import (
    Cassette,
    Exchange,
    credential_headers,
    public_query,
    redacted,
    split_events,
)

__all__ = ["Recorder", "recording_app"]


FORWARDED = ("idempotency-key", "openai-beta")
"""Request headers passed on besides the body (auth is the upstream client's own)."""


class Recorder:
    """Forwards requests through `upstream` (an `AsyncOpenAI` with its own auth) and records them.

    Call `save(path)` at the end; the cassette is scrubbed of the upstream client's key and of
    every credential header an agent sent to the proxy.
    """

    def __init__(self, upstream: openai.AsyncOpenAI) -> None:
        self.upstream = upstream
        self.cassette = Cassette(upstream=_public_url(str(upstream.base_url)))
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        key = upstream.api_key
        if isinstance(key, str):
            self._secrets.add(key)
        headers = {k: v for k, v in upstream.default_headers.items() if isinstance(v, str)}
        self._secrets.update(credential_headers(headers))

    async def forward(self, request: Request, path: str) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:  # a file upload (multipart): not recordable as JSON
            message = (
                f"agentkit record: only JSON requests are recorded, not {request.method} {path}"
            )
            return Response(
                json.dumps(
                    {
                        "error": {
                            "message": message,
                            "type": "invalid_request_error",
                            "param": None,
                            "code": "not_recordable",
                        }
                    }
                ),
                400,
                media_type="application/json",
            )
        query = public_query(request.url.query)
        self._secrets.update(credential_headers(dict(request.headers)))
        answer = await self._send(request.method, path, body, query, request)
        content_type = answer.headers.get("content-type", "application/json")
        exchange = Exchange(request.method, path, query, redacted(body), answer.status_code)
        if content_type.startswith("text/event-stream"):
            exchange.events = split_events(answer.text)
        else:
            exchange.answer = redacted(_json_or_text(answer.text))
        with self._lock:
            self.cassette.exchanges.append(exchange)
        return Response(answer.content, answer.status_code, media_type=content_type)

    async def _send(
        self, method: str, path: str, body: Any, query: dict[str, str], request: Request
    ) -> httpx2.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED}
        options: openai.RequestOptions = {
            "max_retries": 0,
            "security": {"bearer_auth": True},
            "headers": headers,
            "params": query,
        }
        client, raw = self.upstream, httpx2.Response
        try:
            if method == "POST":
                return await client.post(path, cast_to=raw, body=body, options=options)
            if method == "DELETE":
                return await client.delete(path, cast_to=raw, options=options)
            return await client.get(path, cast_to=raw, options=options)
        except openai.APIStatusError as error:
            return error.response

    def save(self, path: str | Path) -> Cassette:
        with self._lock:
            self.cassette.save(path, self._secrets)
            return self.cassette


def recording_app(recorder: Recorder) -> Starlette:
    """An ASGI app that serves the Responses API's routes by forwarding them to `recorder`."""

    async def forward(request: Request) -> Response:
        return await recorder.forward(request, "/" + request.path_params["path"])

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await recorder.upstream.close()

    routes = [
        Route(prefix + "/{path:path}", forward, methods=["GET", "POST", "DELETE"])
        for prefix in PREFIXES
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _public_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
