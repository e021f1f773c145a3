"""`POST /responses/compact` and `POST /responses/input_tokens` (protocol/compaction.py)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from agentkit.server.config import ServerState
from agentkit.server.http.contexts import context_for
from agentkit.server.http.json import json_response, read_body
from agentkit.server.protocol import compaction
from agentkit.server.protocol.models import resolve_model
from agentkit.server.protocol.usage import prompt_tokens
from agentkit.server.protocol.validation import decode_json


async def compact_response(request: Request) -> Response:
    state: ServerState = request.app.state.server
    if state.config.azure:
        compaction.refuse_on_azure()
    raw = await read_body(request, state.config.max_body_bytes)
    return json_response(await state.offload(_compacted, state, raw))


def _compacted(state: ServerState, raw: bytes) -> dict[str, Any]:
    create = compaction.parse_compact_request(decode_json(raw))
    resolve_model(create, state.catalogue, state.config.deployments)
    return compaction.compact(create, context_for(state, create), state.sealer)


async def count_input_tokens(request: Request) -> Response:
    state: ServerState = request.app.state.server
    raw = await read_body(request, state.config.max_body_bytes)
    return json_response(await state.offload(_counted, state, raw))


def _counted(state: ServerState, raw: bytes) -> dict[str, Any]:
    create = compaction.parse_count_request(decode_json(raw))
    tokens = prompt_tokens(create, context_for(state, create))
    return {"object": "response.input_tokens", "input_tokens": tokens}


ROUTES: list[tuple[str, Any, list[str]]] = [
    ("/responses/compact", compact_response, ["POST"]),
    ("/responses/input_tokens", count_input_tokens, ["POST"]),
]
