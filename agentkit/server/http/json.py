"""HTTP helpers both route modules use: JSON bodies in and out, and list pages."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from agentkit.server.config import ServerState
from agentkit.server.errors import APIError, invalid
from agentkit.server.http.sse import dumps
from agentkit.server.protocol.validation import decode_json


async def json_body(request: Request, cap: int) -> Any:
    """The request's JSON body, decoded and checked off the event loop."""
    raw = await read_body(request, cap)
    state: ServerState = request.app.state.server
    return await state.offload(decode_json, raw)


async def read_body(request: Request, cap: int) -> bytes:
    """The request's body, at most `cap` bytes (else a 413, as soon as that is known)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise too_large(cap)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise too_large(cap)
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(cap: int) -> APIError:
    return APIError(
        413, f"Request body too large: the limit is {cap} bytes.", code="request_too_large"
    )


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status, headers=headers, media_type="application/json")


def list_page(
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
