"""The ASGI app: routes under `/v1` and Azure's `/openai/v1`, errors in the service's shape."""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from agentkit.server.config import ServerConfig, ServerState
from agentkit.server.engines import ScriptedEngine
from agentkit.server.errors import APIError, invalid, not_found
from agentkit.server.generate import Draft, generate
from agentkit.server.http import files_api
from agentkit.server.http.access import AccessLog, log_failure, server_error
from agentkit.server.http.json import json_body, json_response, list_page, read_body
from agentkit.server.http.sse import frame, numbered, response_events
from agentkit.server.protocol import azure
from agentkit.server.protocol.context import Context, build_context
from agentkit.server.protocol.media import check_media
from agentkit.server.protocol.reasoning import is_reasoning_model
from agentkit.server.protocol.validation import CreateRequest, decode_json, parse_create_request

__all__ = ["ServerConfig", "ServerState", "create_app"]


PREFIXES = ("/v1", "/openai/v1", "/openai")
Handler = Callable[[Request], Awaitable[Response]]


# --- responses -----------------------------------------------------------------------------


async def create_response(request: Request) -> Response:
    state: ServerState = request.app.state.server
    raw = await read_body(request, state.config.max_body_bytes)
    create, context = await state.offload(_checked, state, raw, request.headers)
    reasoning_model = is_reasoning_model(create.model, state.config.reasoning_models)
    draft = Draft.start(create, reasoning_model)
    final = await generate(draft, context, state.engine, state.sealer, state.services)
    in_progress = draft.body()
    if state.config.azure:
        in_progress = azure.with_content_filters(in_progress, None)
        filters = azure.content_filters(final, context.items, len(context.input))
        final = azure.with_content_filters(final, filters)
    if create.store:
        await state.offload(state.store.save, final, context.input)
    if not create.stream:
        return json_response(final)
    events = numbered(response_events(in_progress, final, obfuscate=create.stream_obfuscation))
    return StreamingResponse(
        _frames(events), media_type="text/event-stream", headers=_sse_headers()
    )


def _checked(state: ServerState, raw: bytes, headers: Headers) -> tuple[CreateRequest, Context]:
    """Decode, check and resolve a create request: CPU and storage work, for `offload`."""
    body = decode_json(raw)
    state.record(body, len(raw))
    if state.config.azure:
        body = azure.adapt_request(body, headers)
    create = parse_create_request(body)
    context = build_context(state.store, state.sealer, create.input, create.previous_response_id)
    check_media(context.input, state.services)
    return create, context


async def _frames(events: Any) -> AsyncIterator[bytes]:
    for event in events:
        yield frame(event)


def _sse_headers() -> dict[str, str]:
    return {"cache-control": "no-cache"}  # `AccessLog` adds the request id


async def retrieve_response(request: Request) -> Response:
    state: ServerState = request.app.state.server
    if request.query_params.get("stream") in ("true", "1", "True"):
        raise invalid(
            "Streaming a stored response is only possible for responses created with "
            "background=true.",
            "stream",
        )
    return json_response(_stored(state, request).body)


async def delete_response(request: Request) -> Response:
    state: ServerState = request.app.state.server
    record = _stored(state, request)
    state.store.delete(record.id)
    return json_response({"id": record.id, "object": "response", "deleted": True})


async def cancel_response(request: Request) -> Response:
    state: ServerState = request.app.state.server
    _stored(state, request)
    raise invalid("Cannot cancel a synchronous response.")


async def list_input_items(request: Request) -> Response:
    state: ServerState = request.app.state.server
    record = _stored(state, request)
    items = state.store.context(record.id) or []
    items = items[: len(items) - len(record.output)]
    return json_response(list_page(items, request.query_params))


def _stored(state: ServerState, request: Request) -> Any:
    response_id = request.path_params["response_id"]
    record = state.store.get(response_id)
    if record is None:
        raise not_found(f"Response with id '{response_id}' not found.", "response_id")
    return record


# --- scripted control endpoint (only with the scripted engine) ---------------------------------


async def scripted_queue(request: Request) -> Response:
    state: ServerState = request.app.state.server
    engine = state.engine
    assert isinstance(engine, ScriptedEngine)
    if request.method == "POST":
        count = engine.queue_json(await json_body(request, state.config.max_body_bytes))
        return json_response({"queued": count, "pending": engine.pending()})
    if request.method == "DELETE":
        engine.clear()
    return json_response({"pending": engine.pending()})


async def recorded_requests(request: Request) -> Response:
    state: ServerState = request.app.state.server
    if request.method == "DELETE":
        state.requests.clear()
    return json_response({"object": "list", "data": list(state.requests)})


# --- plumbing -----------------------------------------------------------------------------


def _guarded(handler: Handler) -> Handler:
    """Check the API key, then turn every failure into the service's error shape."""

    async def guarded(request: Request) -> Response:
        try:
            _authenticate(request)
            return await handler(request)
        except APIError as error:
            return json_response(error.body(), error.status, error.headers)
        except HTTPException as error:  # Starlette's own, such as an unreadable form
            failure = APIError(error.status_code, error.detail)
            return json_response(failure.body(), failure.status)
        except Exception:
            log_failure(request.scope)
            return json_response(server_error().body(), 500)

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
    # An empty key never authenticates, whatever the server was given.
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise APIError(401, "Incorrect API key provided.", code="invalid_api_key")


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = "Not found." if status == 404 else (getattr(exc, "detail", None) or "Error.")
    error = APIError(status, f"{message} ({request.method} {request.url.path})")
    return json_response(error.body(), status)


def _routes(scripted: bool) -> list[Route]:
    table: list[tuple[str, Handler, list[str]]] = [
        ("/responses", create_response, ["POST"]),
        ("/responses/{response_id}", retrieve_response, ["GET"]),
        ("/responses/{response_id}", delete_response, ["DELETE"]),
        ("/responses/{response_id}/cancel", cancel_response, ["POST"]),
        ("/responses/{response_id}/input_items", list_input_items, ["GET"]),
    ]
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
        middleware=[Middleware(AccessLog)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.server = state
    return app
