"""Chaining by a service-side Conversation, and new messages sent to a paused run's conversation.

Against the local server's Conversations API (`/conversations`, the `conversation` parameter):
each request names the conversation and sends only what the service has not seen.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

from agentkit import (
    ChainRecoveryWarning,
    ConfigurationError,
    Conversation,
    tool,
)
from agentkit.run.approvals import ABANDONED
from agentkit.run.state import AbandonedApprovalsWarning
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Say

from .conftest import AgentFactory


@tool(needs_approval=True)
def delete_file(path: str) -> str:
    """Delete a file."""
    return f"deleted {path}"


def bodies(server: LocalServer) -> list[dict[str, Any]]:
    return server.requests


@pytest.mark.parametrize("store", [True, False])
async def test_turns_are_kept_in_a_service_conversation(
    server: LocalServer, agent: AgentFactory, client: openai.AsyncOpenAI, store: bool
) -> None:
    chat = agent(chaining="conversation", store=store)
    first = await chat.run("Define catastrophic forgetting?")
    follow = await chat.run("Explain it more simply", conversation=first.conversation)

    conversation_id = first.conversation.conversation_id
    assert conversation_id is not None and conversation_id.startswith("conv_")
    assert follow.conversation.conversation_id == conversation_id
    sent = bodies(server)
    assert [b["conversation"] for b in sent] == [conversation_id, conversation_id]
    assert all("previous_response_id" not in b for b in sent)
    assert [len(b["input"]) for b in sent] == [1, 1]  # only what the service has not seen
    assert "Earlier in this conversation you sent 1 message" in follow.output
    held = await client.conversations.items.list(conversation_id, order="asc")
    assert [i.type for i in held.data] == ["message"] * 4


async def test_a_conversation_the_service_holds_is_continued(
    server: LocalServer, agent: AgentFactory, client: openai.AsyncOpenAI
) -> None:
    made = await client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "My name is Ada."}]
    )
    result = await agent(chaining="conversation").run(
        "What is my name?", conversation=Conversation.on_service(made.id)
    )
    assert result.conversation.conversation_id == made.id
    assert bodies(server)[0]["conversation"] == made.id
    assert "Earlier in this conversation you sent 1 message" in result.output


async def test_a_lost_conversation_continues_in_a_new_one(
    server: LocalServer, agent: AgentFactory, client: openai.AsyncOpenAI
) -> None:
    chat = agent(chaining="conversation")
    first = await chat.run("Remember the number 7.")
    await client.conversations.delete(first.conversation.conversation_id or "")
    with pytest.warns(ChainRecoveryWarning, match="no longer holds conversation"):
        follow = await chat.run("Which number?", conversation=first.conversation)
    assert follow.conversation.conversation_id not in (None, first.conversation.conversation_id)
    last = bodies(server)[-1]
    assert [i.get("role") for i in last["input"]] == ["user", "assistant", "user"]


def test_a_conversation_id_round_trips_through_json() -> None:
    conversation = Conversation.on_service("conv_123")
    assert Conversation.from_json(conversation.to_json()).conversation_id == "conv_123"
    assert "conversation_id" not in Conversation().to_dict()  # older readers see nothing new


def test_unknown_chaining_is_refused(agent: AgentFactory) -> None:
    with pytest.raises(
        ConfigurationError, match="'previous_response_id', 'items' or 'conversation'"
    ):
        agent(chaining="threads")


# --- a new message instead of deciding a paused run's approvals --------------------------------


async def test_a_new_message_declines_what_a_pause_left_undecided(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(
        Call("delete_file", '{"path": "a.txt"}', call_id="call_del"), Say("Fine, I left it.")
    )
    agent = scripted_agent(tools=[delete_file])
    paused = await agent.run("delete a.txt")
    assert paused.paused
    with pytest.warns(AbandonedApprovalsWarning, match="declined"):
        result = await agent.run("never mind", conversation=paused.conversation)
    assert result.output == "Fine, I left it."
    sent = scripted.requests[-1]["input"]
    declined = [i for i in sent if i["type"] == "function_call_output"]
    assert declined == [
        {"type": "function_call_output", "call_id": "call_del", "output": ABANDONED}
    ]
    assert sent[-1]["content"][0]["text"] == "never mind"


async def test_reject_all_abandons_a_pause_the_model_is_told_why(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(
        Call("delete_file", '{"path": "a.txt"}', call_id="call_del"), Say("Understood.")
    )
    agent = scripted_agent(tools=[delete_file])
    paused = await agent.run("delete a.txt")
    paused.state.reject_all("I changed my mind")
    result = await agent.resume(paused.state)
    assert result.output == "Understood."
    (output,) = [i for i in scripted.requests[-1]["input"] if i["type"] == "function_call_output"]
    assert "declined" in output["output"] and "I changed my mind" in output["output"]
