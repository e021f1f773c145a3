"""The model's context for a checked request, as every route that reads one resolves it."""

from __future__ import annotations

from agentkit.server.config import ServerState
from agentkit.server.errors import not_found
from agentkit.server.protocol.context import Context, build_context
from agentkit.server.protocol.items import Item
from agentkit.server.protocol.validation import CreateRequest


def context_for(
    state: ServerState, request: CreateRequest, *, reasoning_model: bool = True
) -> Context:
    """The stored chain or the conversation's items, then the request's input, checked
    (reasoning items refused when the model does not reason)."""
    conversation = (
        None if request.conversation is None else conversation_items(state, request.conversation)
    )
    return build_context(
        state.store,
        state.sealer,
        request.input,
        request.previous_response_id,
        conversation,
        reasoning_model=reasoning_model,
    )


def conversation_items(state: ServerState, conversation_id: str) -> list[Item]:
    """A conversation's items, oldest first; a 404 when there is no such conversation."""
    if state.conversations.get(conversation_id) is None:
        raise conversation_not_found(conversation_id)
    return state.conversations.items(conversation_id)


def conversation_not_found(conversation_id: str) -> Exception:
    return not_found(f"Conversation with id '{conversation_id}' not found.", "conversation_id")
