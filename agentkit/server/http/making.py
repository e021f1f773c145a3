"""Making a response from a create body: the checks, then the producer that makes it.

Shared by `POST /responses` and WebSocket mode, so both refuse and make responses alike.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import HTTPConnection

from agentkit.server.config import ServerState
from agentkit.server.errors import APIError
from agentkit.server.generate import Generation
from agentkit.server.http.contexts import context_for
from agentkit.server.live import EventLog
from agentkit.server.producer import Producer
from agentkit.server.protocol import azure
from agentkit.server.protocol.context import Context
from agentkit.server.protocol.media import check_media
from agentkit.server.protocol.models import ModelCard, resolve_model
from agentkit.server.protocol.validation import CreateRequest, parse_create_request


def checked(
    state: ServerState,
    decode: Callable[[Any], Any],
    raw: Any,
    headers: Mapping[str, str],
    context: Callable[..., Context] = context_for,
) -> tuple[CreateRequest, Context, ModelCard]:
    """Decode, check and resolve a create request: CPU and storage work, for `offload`."""
    body = decode(raw)
    state.record(body, len(raw) if isinstance(raw, bytes | str) else 0)
    if state.config.azure:
        body = azure.adapt_request(body, headers)
    create = parse_create_request(body)
    card = resolve_model(create, state.catalogue, state.config.deployments)
    resolved = context(state, create, reasoning_model=card.reasoning)
    check_media(resolved.input, state.services)
    return create, resolved, card


def producer_for(state: ServerState, generation: Generation, log: EventLog | None) -> Producer:
    config = state.config
    return Producer(
        generation,
        state.store,
        log,
        azure=config.azure,
        pace_ms=config.pace_ms,
        offload=state.offload,
        conversations=state.conversations,
    )


def authenticate(request: HTTPConnection) -> None:
    """Check the API key as Azure (`api-key`) or OpenAI (`Authorization: Bearer`) sends it."""
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
