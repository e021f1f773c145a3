"""WebSocket mode for `/responses` (the Open Responses spec's `x-openresponses-websocket`; the
`openai` SDK's `client.responses.connect()`).

One connection carries any number of turns, one at a time. The client sends
`{"type": "response.create", ...}` (a create body without `stream`, `stream_options` or
`background`); the server answers with the same events a stream has, as JSON text messages, and
failures as `{"type": "error", "status": 400, "error": {"type", "code", "message", "param"}}`
(`WebSocketErrorEvent`), after which the connection takes the next turn.

`store: false` responses are remembered by the connection that made them, so a later turn on it
may continue one by `previous_response_id` sending only new input; another connection gets
`previous_response_not_found`, and a turn that fails forgets the response it continued
(docs/server.md, "WebSocket mode"). `generate: false` prepares a turn without output.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from agentkit.server.config import ServerState
from agentkit.server.errors import APIError, invalid, invalid_type, invalid_value
from agentkit.server.generate import Draft, Generation
from agentkit.server.http.contexts import context_for
from agentkit.server.http.making import authenticate, checked, producer_for
from agentkit.server.http.sse import dumps
from agentkit.server.live import EventLog
from agentkit.server.protocol.context import Context, build_context
from agentkit.server.protocol.items import Item
from agentkit.server.protocol.usage import prompt_tokens, usage_body
from agentkit.server.protocol.validation import CreateRequest, decode_json

HTTP_ONLY = ("stream", "stream_options", "background")
"""Create fields the spec's `WebSocketResponseCreateEvent` forbids."""
KEPT_RESPONSES = 64
"""`store: false` responses one connection remembers for continuation, newest kept."""


class Connection:
    """One WebSocket: its turns in order, and the unstored responses it may continue."""

    def __init__(self, socket: WebSocket, state: ServerState) -> None:
        self.socket = socket
        self.state = state
        self.kept: dict[str, list[Item]] = {}

    async def serve(self) -> None:
        while True:
            try:
                text = await self.socket.receive_text()
            except WebSocketDisconnect:
                return
            body: Any = None
            try:
                body = _create_body(text)
                await self._turn(body)
            except APIError as error:
                self._forget(body)
                await self._send(_error_event(error))

    async def _turn(self, body: dict[str, Any]) -> None:
        generate = body.pop("generate", True)
        if not isinstance(generate, bool):
            raise invalid_type("generate", "a boolean", generate)
        create, context, card = await self.state.offload(
            checked, self.state, _as_is, body, self.socket.headers, self._context
        )
        create.stream = True
        draft = Draft.start(create, card)
        if not generate:
            await self._prepared(draft, context)
            return
        generation = Generation(
            draft, context, self.state.engine, self.state.sealer, self.state.services
        )
        await generation.prepare()
        producer = producer_for(self.state, generation, EventLog())
        producer.announce()
        task = asyncio.create_task(producer.produce())
        assert producer.log is not None
        try:
            async for event in producer.log.follow():
                await self._send(event)
        finally:
            if not task.done():
                task.cancel()
        final = await task
        if final["status"] == "failed":
            self._forget(body)
        elif not create.store:
            self._keep(final["id"], context.items + final["output"])

    async def _prepared(self, draft: Draft, context: Context) -> None:
        """A `generate: false` turn: the context is checked and kept, nothing is generated."""
        body = draft.body("completed", [])
        body["usage"] = usage_body(prompt_tokens(draft.request, context), 0)
        log = EventLog()
        for kind in ("response.created", "response.in_progress", "response.completed"):
            log.append({"type": kind, "response": {**body, "status": _status(kind)}})
        for event in log.events:
            await self._send(event)
        if draft.request.store:
            await self.state.offload(self.state.store.save, body, context.input)
        else:
            self._keep(draft.id, context.items)

    def _context(
        self, state: ServerState, create: CreateRequest, *, reasoning_model: bool = True
    ) -> Context:
        kept = self.kept.get(create.previous_response_id or "")
        if kept is None:
            return context_for(state, create, reasoning_model=reasoning_model)
        return build_context(
            state.store,
            state.sealer,
            create.input,
            None,
            kept,
            reasoning_model=reasoning_model,
        )

    def _keep(self, response_id: str, items: list[Item]) -> None:
        self.kept[response_id] = items
        while len(self.kept) > KEPT_RESPONSES:
            self.kept.pop(next(iter(self.kept)))

    def _forget(self, body: Any) -> None:
        """A failed turn evicts the response it continued from this connection's memory."""
        if isinstance(body, dict) and isinstance(body.get("previous_response_id"), str):
            self.kept.pop(body["previous_response_id"], None)

    async def _send(self, event: dict[str, Any]) -> None:
        await self.socket.send_text(dumps(event).decode())


def _status(kind: str) -> str:
    return "completed" if kind == "response.completed" else "in_progress"


def _as_is(body: Any) -> Any:
    return body


def _create_body(text: str) -> dict[str, Any]:
    """The create body of a `response.create` message; a 400 for anything else."""
    body = decode_json(text.encode())
    if not isinstance(body, dict):
        raise invalid_type("body", "an object", body)
    if body.get("type") != "response.create":
        raise invalid_value("type", body.get("type"), ["response.create"])
    for key in HTTP_ONLY:
        if key in body:
            raise invalid(f"The '{key}' parameter is not supported in WebSocket mode.", key)
    return {k: v for k, v in body.items() if k != "type"}


def _error_event(error: APIError) -> dict[str, Any]:
    body = error.body()["error"]
    # `WebSocketErrorEvent` requires a code: the error's own, else its type.
    return {
        "type": "error",
        "status": error.status,
        "error": {**body, "code": error.code or error.type},
    }


async def responses_socket(socket: WebSocket) -> None:
    """`GET /responses` upgraded to a WebSocket: authenticated, then turn after turn."""
    state: ServerState = socket.app.state.server
    try:
        authenticate(socket)
    except APIError as error:
        await socket.accept()
        await socket.send_text(dumps(_error_event(error)).decode())
        await socket.close(code=1008)
        return
    await socket.accept()
    await Connection(socket, state).serve()
