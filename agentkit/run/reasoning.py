"""Reasoning items a model refuses: another model's, or any at all for a model that does not reason.

The service answers 400 when a model that does not reason finds reasoning items in its context
(sent by value, or held by the `previous_response_id` chain), and `invalid_encrypted_content`
when encrypted reasoning cannot be verified by the deployment it is sent to. Both happen when a
conversation moves from one model to another (a handoff, a conversation continued by another
agent). The recoverer drops the reasoning items and resends the transcript by value, once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import openai

from agentkit.run.request import without_reasoning
from agentkit.run.state import RunState

if TYPE_CHECKING:
    from agentkit.run.loop import RunSetup

log = logging.getLogger("agentkit")

REFUSED = "Reasoning input items can only be provided to a reasoning"
"""The start of the service's message when a model that does not reason gets reasoning items."""


def drop_reasoning(state: RunState) -> bool:
    """Remove every reasoning item from the run's conversation (keeping where this run's items
    start right); whether there was any. The service no longer holds what is sent next."""
    items = state.conversation.items
    if not any(item.get("type") == "reasoning" for item in items):
        return False
    earlier = without_reasoning(items[: state.start])
    state.conversation.items = earlier + without_reasoning(items[state.start :])
    state.start = len(earlier)
    state.conversation.mark_synced(None)
    return True


def fit_for(state: RunState, model: str) -> None:
    """Drop the conversation's reasoning items if another model made them: reasoning goes back
    only to the model that made it (see the module's docstring)."""
    made_by = state.conversation.model
    if made_by is not None and made_by != model and drop_reasoning(state):
        log.info("Dropped %s's reasoning items before a call to %s.", made_by, model)
    state.conversation.model = model


def recover_refused_reasoning(
    error: Exception, body: dict[str, Any], setup: RunSetup, state: RunState
) -> bool:
    """The model refused the conversation's reasoning items: send the transcript without them."""
    refused = isinstance(error, openai.BadRequestError) and (
        error.code == "invalid_encrypted_content" or REFUSED in str(error.message)
    )
    if refused and drop_reasoning(state):
        log.warning(
            "%s refused the conversation's reasoning items (%s); resending it without them.",
            body.get("model"),
            getattr(error, "code", None) or "reasoning not accepted",
        )
        return True
    return False
