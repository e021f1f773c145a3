"""The ASGI app: routes under `/v1` and Azure's `/openai/v1`, errors in the service's shape."""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from agentkit._ids import new_id
from agentkit.server import azure
from agentkit.server.containers import DEFAULT_IDLE_SECONDS, Containers
from agentkit.server.context import build_context
from agentkit.server.engines import AutoEngine, Engine, ScriptedEngine
from agentkit.server.errors import APIError, invalid, not_found
from agentkit.server.files import MAX_FILE_BYTES, FileStore
from agentkit.server.generate import Draft, generate
from agentkit.server.media import check_media
from agentkit.server.reasoning import DEFAULT_REASONING_MODELS, ReasoningSealer, is_reasoning_model
from agentkit.server.sandbox import SandboxLimits
from agentkit.server.sse import dumps, frame, numbered, response_events
from agentkit.server.store import Store
from agentkit.server.validation import decode_json, parse_create_request

log = logging.getLogger("agentkit.server")

MAX_BODY_BYTES = 50 * 1024 * 1024
PREFIXES = ("/v1", "/openai/v1", "/openai")
REQUEST_LOG_SIZE = 1000
Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class ServerConfig:
    """How the local server behaves; every field has a safe default."""

    db: str = ":memory:"
    engine: str | Engine = "auto"
    api_key: str | None = None
    reasoning_models: tuple[str, ...] = DEFAULT_REASONING_MODELS
    max_body_bytes: int = MAX_BODY_BYTES
    azure: bool = False
    """Answer as Azure OpenAI does where it differs from OpenAI (docs/server.md, "Azure mode")."""
    mcp_timeout: float = 30.0
    """Seconds the hosted `mcp` tool gives a remote MCP server to list its tools or run one."""
    files_dir: str | None = None
    """Where uploaded files and containers live (default: `<db>.files`, or a temporary folder)."""
    max_file_bytes: int = MAX_FILE_BYTES
    container_idle_seconds: float = DEFAULT_IDLE_SECONDS
    """How long a code interpreter container may be idle before it expires (20 minutes)."""
    sandbox: SandboxLimits = field(default_factory=SandboxLimits)
    """Limits and isolation of code interpreter sessions (docs/server.md)."""


@dataclass
class ServerState:
    """What the routes share: storage, the engine, keys, and a log of request bodies."""

    config: ServerConfig
    store: Store
    engine: Engine
    sealer: ReasoningSealer
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=REQUEST_LOG_SIZE))
    services: dict[str, Any] = field(default_factory=dict)
    """Resources hosted tools share (file store, containers), by name."""

    @classmethod
    def open(cls, config: ServerConfig) -> ServerState:
        store = Store(config.db)
        engine = _engine(config.engine)
        sealer = ReasoningSealer(store.meta("reasoning_key", ReasoningSealer.new_key()))
        files = FileStore.open(config.db, config.files_dir)
        containers = Containers(
            files,
            idle_seconds=config.container_idle_seconds,
            limits=config.sandbox,
            max_file_bytes=config.max_file_bytes,
        )
        services = {"mcp_timeout": config.mcp_timeout, "files": files, "containers": containers}
        return cls(config, store, engine, sealer, services=services)

    def close(self) -> None:
        """Stop what the services run (container sessions), then close the storage."""
        for service in reversed(list(self.services.values())):
            close = getattr(service, "close", None)
            if callable(close):
                close()
        self.store.close()

    def record(self, body: Any) -> None:
        """Keep the request body for tests to inspect, without MCP headers or other secrets."""
        self.requests.append(_redacted(body))


def _engine(engine: str | Engine) -> Engine:
    if engine == "auto":
        return AutoEngine()
    if engine == "scripted":
        return ScriptedEngine()
    if isinstance(engine, str):
        raise ValueError(f"unknown engine {engine!r}; expected 'auto' or 'scripted'")
    return engine


SECRET_TOOL_FIELDS = ("headers", "authorization")
"""MCP tool fields that carry credentials: never kept in the request log."""


def _redacted(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("tools"), list):
        tools = [_redacted_tool(t) for t in body["tools"]]
        return {**body, "tools": tools}
    return body


def _redacted_tool(tool: Any) -> Any:
    if not isinstance(tool, dict) or not any(k in tool for k in SECRET_TOOL_FIELDS):
        return tool
    return {k: "<redacted>" if k in SECRET_TOOL_FIELDS else v for k, v in tool.items()}


# --- responses -----------------------------------------------------------------------------


async def create_response(request: Request) -> Response:
    state: ServerState = request.app.state.server
    body = await _json_body(request, state.config.max_body_bytes)
    state.record(body)
    if state.config.azure:
        body = azure.adapt_request(body, request.headers)
    create = parse_create_request(body)
    context = build_context(state.store, state.sealer, create.input, create.previous_response_id)
    check_media(context.input, state.services)
    reasoning_model = is_reasoning_model(create.model, state.config.reasoning_models)
    draft = Draft.start(create, reasoning_model)
    final = await generate(draft, context, state.engine, state.sealer, state.services)
    in_progress = draft.body()
    if state.config.azure:
        in_progress = azure.with_content_filters(in_progress, None)
        filters = azure.content_filters(final, context.items, len(context.input))
        final = azure.with_content_filters(final, filters)
    if create.store:
        state.store.save(final, context.input)
    if not create.stream:
        return _json(final)
    events = numbered(response_events(in_progress, final, obfuscate=create.stream_obfuscation))
    return StreamingResponse(
        _frames(events), media_type="text/event-stream", headers=_sse_headers()
    )


async def _frames(events: Any) -> AsyncIterator[bytes]:
    for event in events:
        yield frame(event)


def _sse_headers() -> dict[str, str]:
    return {"cache-control": "no-cache", "x-request-id": new_id("req")}


async def retrieve_response(request: Request) -> Response:
    state: ServerState = request.app.state.server
    if request.query_params.get("stream") in ("true", "1", "True"):
        raise invalid(
            "Streaming a stored response is only possible for responses created with "
            "background=true.",
            "stream",
        )
    return _json(_stored(state, request).body)


async def delete_response(request: Request) -> Response:
    state: ServerState = request.app.state.server
    record = _stored(state, request)
    state.store.delete(record.id)
    return _json({"id": record.id, "object": "response", "deleted": True})


async def cancel_response(request: Request) -> Response:
    state: ServerState = request.app.state.server
    _stored(state, request)
    raise invalid("Cannot cancel a synchronous response.")


async def list_input_items(request: Request) -> Response:
    state: ServerState = request.app.state.server
    record = _stored(state, request)
    items = state.store.context(record.id) or []
    items = items[: len(items) - len(record.output)]
    return _json(_page(items, request.query_params))


def _stored(state: ServerState, request: Request) -> Any:
    response_id = request.path_params["response_id"]
    record = state.store.get(response_id)
    if record is None:
        raise not_found(f"Response with id '{response_id}' not found.", "response_id")
    return record


def _page(
    items: list[dict[str, Any]], query: Any, *, default_limit: int = 20, max_limit: int = 100
) -> dict[str, Any]:
    """One page of a list, with the service's `limit`, `order`, `after` and `before`."""
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid(f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.", "order")
    limit = _limit(query.get("limit", str(default_limit)), max_limit)
    ordered = items if order == "asc" else items[::-1]
    ids = [item.get("id") for item in ordered]
    backwards = False
    if after := query.get("after"):
        ordered = ordered[_position(ids, after, "after") + 1 :]
    elif before := query.get("before"):
        # The `limit` items just before the cursor; `has_more` when still more precede them.
        ordered = ordered[: _position(ids, before, "before")][::-1]
        backwards = True
    page = ordered[:limit]
    if backwards:
        page = page[::-1]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0].get("id") if page else None,
        "last_id": page[-1].get("id") if page else None,
        "has_more": len(ordered) > len(page),
    }


def _limit(raw: str, most: int = 100) -> int:
    try:
        limit = int(raw)
    except ValueError:
        raise invalid(f"Invalid 'limit': expected an integer, but got '{raw}'.", "limit") from None
    if not 1 <= limit <= most:
        raise invalid(f"Invalid 'limit': {limit} must be between 1 and {most}.", "limit")
    return limit


def _position(ids: list[Any], item_id: str, param: str) -> int:
    if item_id not in ids:
        raise invalid(f"Item with id '{item_id}' not found in this list.", param)
    return ids.index(item_id)


# --- scripted control endpoint (only with the scripted engine) ---------------------------------


async def scripted_queue(request: Request) -> Response:
    state: ServerState = request.app.state.server
    engine = state.engine
    assert isinstance(engine, ScriptedEngine)
    if request.method == "POST":
        count = engine.queue_json(await _json_body(request, state.config.max_body_bytes))
        return _json({"queued": count, "pending": engine.pending()})
    if request.method == "DELETE":
        engine.clear()
    return _json({"pending": engine.pending()})


async def recorded_requests(request: Request) -> Response:
    state: ServerState = request.app.state.server
    if request.method == "DELETE":
        state.requests.clear()
    return _json({"object": "list", "data": list(state.requests)})


# --- plumbing -----------------------------------------------------------------------------


async def _json_body(request: Request, cap: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise _too_large(cap)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise _too_large(cap)
        chunks.append(chunk)
    return decode_json(b"".join(chunks))


def _too_large(cap: int) -> APIError:
    return APIError(
        413, f"Request body too large: the limit is {cap} bytes.", code="request_too_large"
    )


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status, headers=headers, media_type="application/json")


def _guarded(handler: Handler) -> Handler:
    """Check the API key, then turn every failure into the service's error shape."""

    async def guarded(request: Request) -> Response:
        response = await answer(request)
        # Every answer carries a request id, as the service's do (the SDK reads it).
        response.headers.setdefault("x-request-id", new_id("req"))
        return response

    async def answer(request: Request) -> Response:
        try:
            _authenticate(request)
            return await handler(request)
        except APIError as error:
            return _json(error.body(), error.status, error.headers)
        except Exception:
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            failure = APIError(
                500, "The server had an error processing your request.", type="server_error"
            )
            return _json(failure.body(), 500)

    return guarded


def _authenticate(request: Request) -> None:
    expected: str | None = request.app.state.server.config.api_key
    if expected is None:
        return
    given = request.headers.get("api-key")
    authorization = request.headers.get("authorization", "")
    if given is None and authorization.lower().startswith("bearer "):
        given = authorization[7:].strip()
    if given is None:
        raise APIError(
            401,
            "You didn't provide an API key. Provide it in the 'api-key' header or as "
            "'Authorization: Bearer KEY'.",
            code="missing_api_key",
        )
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise APIError(401, "Incorrect API key provided.", code="invalid_api_key")


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = "Not found." if status == 404 else (getattr(exc, "detail", None) or "Error.")
    error = APIError(status, f"{message} ({request.method} {request.url.path})")
    return _json(error.body(), status, {"x-request-id": new_id("req")})


def _routes(scripted: bool) -> list[Route]:
    table: list[tuple[str, Handler, list[str]]] = [
        ("/responses", create_response, ["POST"]),
        ("/responses/{response_id}", retrieve_response, ["GET"]),
        ("/responses/{response_id}", delete_response, ["DELETE"]),
        ("/responses/{response_id}/cancel", cancel_response, ["POST"]),
        ("/responses/{response_id}/input_items", list_input_items, ["GET"]),
    ]
    from agentkit.server import files_api  # it builds on this module's helpers

    table += files_api.ROUTES
    routes = [
        Route(prefix + path, _guarded(handler), methods=methods)
        for prefix in PREFIXES
        for path, handler, methods in table
    ]
    if scripted:
        routes += [
            Route(
                "/_agentkit/scripted/queue",
                _guarded(scripted_queue),
                methods=["GET", "POST", "DELETE"],
            ),
            Route("/_agentkit/requests", _guarded(recorded_requests), methods=["GET", "DELETE"]),
        ]
    return routes


def create_app(config: ServerConfig | None = None) -> Starlette:
    """The Responses API as an ASGI app; `app.state.server` holds its state."""
    config = config or ServerConfig()
    state = ServerState.open(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        state.close()

    app = Starlette(
        routes=_routes(isinstance(state.engine, ScriptedEngine)),
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.server = state
    return app
