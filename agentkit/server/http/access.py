"""Every request gets an id, sent back as `x-request-id` and written in its access log line."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentkit._ids import new_id
from agentkit.server.errors import APIError
from agentkit.server.http.sse import dumps

access_log = logging.getLogger("agentkit.server.access")
error_log = logging.getLogger("agentkit.server")

HEADER = b"x-request-id"


class ConnectionCut(Exception):
    """Raised mid-answer so that the ASGI server closes the connection (the answer is broken
    off: a scripted fault, or a failure after the status line went out)."""


def request_id(scope: Scope) -> str:
    """The id `AccessLog` gave this request ("-" outside it)."""
    state: dict[str, Any] = scope.get("state") or {}
    return str(state.get("request_id", "-"))


def log_failure(scope: Scope) -> None:
    """Log the exception being handled, with its traceback and the request's id, at ERROR."""
    error_log.exception(
        "unexpected error in %s %s (request %s)", scope["method"], scope["path"], request_id(scope)
    )


class AccessLog:
    """ASGI middleware: a request id in the response header and the log, one access line per
    request at INFO (method, path, status, milliseconds, id: never bodies, queries or keys),
    and a 500 in the service's shape, traceback logged, for anything that escapes the routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_id("req")
        scope["state"] = {**(scope.get("state") or {}), "request_id": rid}
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ConnectionCut:
            raise
        except Exception as error:
            log_failure(scope)
            if status:  # cut short: the server closes the connection, the client sees it broken
                raise ConnectionCut(f"{type(error).__name__} after the answer began") from error
            await _server_error(send_with_id)
        finally:
            elapsed = 1000 * (time.perf_counter() - started)
            access_log.info(
                "%s %s %s %.1fms %s", scope["method"], scope["path"], status or "-", elapsed, rid
            )


async def _server_error(send: Send) -> None:
    body = dumps(server_error().body())
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def server_error() -> APIError:
    return APIError(500, "The server had an error processing your request.", type="server_error")
