"""The ASGI app: routes under `/v1` and Azure's `/openai/v1`, errors in the service's shape."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agentkit.server.config import ServerConfig, ServerState
from agentkit.server.engines import ScriptedEngine
from agentkit.server.errors import APIError, invalid, invalid_type, not_found
from agentkit.server.generate import Draft, Generation
from agentkit.server.http import files_api
from agentkit.server.http.access import AccessLog, log_failure, server_error
from agentkit.server.http.delivery import EventStream, JSONAnswer, quiet_scripted_drops
from agentkit.server.http.json import json_body, json_response, list_page, read_body
from agentkit.server.live import EventLog, replay
from agentkit.server.producer import Producer
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
    generation = Generation(draft, context, state.engine, state.sealer, state.services)
    # What may still refuse the request runs first, so it is answered as an HTTP error.
    await generation.prepare()
    if create.background:
        return _start_background(state, generation)
    if create.stream:
        return _stream(state, generation)
    producer = _producer(state, generation, None)
    final = await producer.produce(raise_errors=True)
    return _json(final, producer.controls)


def _producer(state: ServerState, generation: Generation, log: EventLog | None) -> Producer:
    config = state.config
    return Producer(
        generation,
        state.store,
        log,
        azure=config.azure,
        pace_ms=config.pace_ms,
        offload=state.offload,
    )


def _start_background(state: ServerState, generation: Generation) -> Response:
    stream = generation.request.stream
    producer = _producer(state, generation, state.background.log(generation.draft.id, stream))
    state.background.start(producer)
    if producer.log is None:
        return _json(producer.snapshot(), producer.controls)
    # The client that started it only reads: going away leaves the response running.
    return EventStream(producer.log.follow(), faults=producer.controls, headers=_sse_headers())


def _stream(state: ServerState, generation: Generation) -> Response:
    producer = _producer(state, generation, EventLog())
    producer.announce()
    task = asyncio.create_task(producer.produce())
    _keep(state, task)
    if generation.request.store:  # retrievable while it runs, as on the service
        state.streams[producer.id] = producer
        task.add_done_callback(lambda _: state.streams.pop(producer.id, None))
    # A synchronous response lives as long as its connection, as on the service.
    return EventStream(
        producer.log.follow() if producer.log else replay([]),
        faults=producer.controls,
        on_disconnect=lambda: _stop(task),
        headers=_sse_headers(),
    )


def _stop(task: asyncio.Task[Any]) -> None:
    task.cancel()


def _keep(state: ServerState, task: asyncio.Task[Any]) -> None:
    """Hold a reference to a response's task until it ends (the loop keeps only weak ones)."""
    state.tasks.add(task)
    task.add_done_callback(state.tasks.discard)


def _json(body: dict[str, Any], faults: Any) -> Response:
    if faults():
        return JSONAnswer(body, faults=faults)
    return json_response(body)


def _checked(state: ServerState, raw: bytes, headers: Headers) -> tuple[CreateRequest, Context]:
    """Decode, check and resolve a create request: CPU and storage work, for `offload`."""
    body = decode_json(raw)
    state.record(body, len(raw))
    if state.config.azure:
        body = azure.adapt_request(body, headers)
    create = parse_create_request(body)
    reasoning_model = is_reasoning_model(create.model, state.config.reasoning_models)
    context = build_context(
        state.store,
        state.sealer,
        create.input,
        create.previous_response_id,
        reasoning_model=reasoning_model,
    )
    check_media(context.input, state.services)
    return create, context


def _sse_headers() -> dict[str, str]:
    return {"cache-control": "no-cache"}  # `AccessLog` adds the request id


async def retrieve_response(request: Request) -> Response:
    state: ServerState = request.app.state.server
    if _flag(request.query_params.get("stream")):
        return _resume(state, request)
    response_id = request.path_params["response_id"]
    running = state.background.running(response_id) or state.streams.get(response_id)
    if running is not None:
        return json_response(running.snapshot())
    return json_response(_stored(state, request).body)


def _resume(state: ServerState, request: Request) -> Response:
    """The events after `starting_after`, then live ones until the response ends."""
    response_id = request.path_params["response_id"]
    after = _starting_after(request.query_params.get("starting_after"))
    record = state.background.record(response_id)
    if record is None:
        _stored(state, request)
        raise invalid(
            "Streaming a stored response is only possible for responses created with "
            "background=true.",
            "stream",
        )
    if not record.stream:
        raise invalid(
            "This response cannot be streamed because it was not created with stream=true.",
            "stream",
        )
    obfuscation = request.query_params.get("include_obfuscation")
    return EventStream(
        state.background.follow(response_id, after),
        strip_obfuscation=obfuscation is not None and not _flag(obfuscation),
        headers=_sse_headers(),
    )


def _flag(value: str | None) -> bool:
    return value in ("true", "1", "True")


def _starting_after(raw: str | None) -> int:
    if raw is None:
        return -1
    try:
        return int(raw)
    except ValueError:
        raise invalid_type("starting_after", "an integer", raw) from None


async def delete_response(request: Request) -> Response:
    state: ServerState = request.app.state.server
    response_id = request.path_params["response_id"]
    await state.background.cancel(response_id)
    record = _stored(state, request)
    state.store.delete(record.id)
    state.background.delete(record.id)
    return json_response({"id": record.id, "object": "response", "deleted": True})


async def cancel_response(request: Request) -> Response:
    """Stop a background response; idempotent. Others are refused, as the service does."""
    state: ServerState = request.app.state.server
    cancelled = await state.background.cancel(request.path_params["response_id"])
    if cancelled is not None:
        return json_response(cancelled)
    body = _stored(state, request).body
    if not body.get("background"):
        raise invalid("Cannot cancel a synchronous response.")
    if body["status"] != "cancelled":
        raise invalid(f"Cannot cancel a {body['status']} response.")
    return json_response(body)


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
    quiet_scripted_drops()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await state.background.shutdown()
        for task in list(state.tasks):
            task.cancel()
        if state.tasks:
            await asyncio.wait(list(state.tasks))
        state.close()

    app = Starlette(
        routes=_routes(isinstance(state.engine, ScriptedEngine)),
        middleware=[Middleware(AccessLog)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.server = state
    return app
