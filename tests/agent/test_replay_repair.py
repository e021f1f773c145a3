"""Self-healing replay (`agentkit.run.repair`, the `repair_replay` recoverer): each error the
service answers for a transcript it cannot read, reproduced against the local server, repaired,
and the run goes on with a `ReplayRepairWarning`, never losing a tool output.

The errors and their wording are the service's (../shared/reference/README.md, "Known service
answers"): 400 `invalid_encrypted_content`; 404 "Item with id '…' not found."; 400 "Duplicate item
found with id …"; 400 "No tool output found for function call …". The pure repairs are tested
directly first.
"""

from __future__ import annotations

import pytest

from agentkit import Conversation, tool
from agentkit.run.approvals import ABANDONED
from agentkit.run.repair import (
    UNANSWERED,
    ReplayRepairWarning,
    answer_dangling_call,
    drop_sealed_reasoning,
    without_duplicates,
    without_missing_item,
)
from agentkit.run.state import AbandonedApprovalsWarning, RunState
from agentkit.server import LocalServer

from .conftest import AgentFactory

USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
CALL = {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "f", "arguments": "{}"}
SAY = {"type": "message", "id": "msg_1", "role": "assistant", "content": []}


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


# --- the pure repairs ----------------------------------------------------------------------------


def test_sealed_reasoning_is_dropped_with_the_ids_that_needed_it() -> None:
    sealed = {"type": "reasoning", "id": "rs_1", "encrypted_content": "gAAAAAx", "summary": []}
    assert drop_sealed_reasoning([USER, sealed, CALL]) == [
        USER,
        {k: v for k, v in CALL.items() if k != "id"},
    ]
    assert drop_sealed_reasoning([USER, CALL]) is None


def test_a_missing_item_is_sent_by_value_or_dropped_when_only_referenced() -> None:
    assert without_missing_item([USER, SAY], "msg_1") == [
        USER,
        {k: v for k, v in SAY.items() if k != "id"},
    ]
    reference = {"type": "item_reference", "id": "msg_9"}
    assert without_missing_item([USER, reference], "msg_9") == [USER]
    assert without_missing_item([USER], "msg_9") is None


def test_duplicates_keep_the_first() -> None:
    assert without_duplicates([USER, SAY, SAY], "msg_1") == [USER, SAY]
    assert without_duplicates([USER, SAY, USER, SAY], "msg_1", keep_before=2) == [USER, SAY, USER]
    assert without_duplicates([USER, SAY], "msg_1") is None


def test_a_dangling_call_gets_an_output_after_its_group() -> None:
    other = {**CALL, "id": "fc_2", "call_id": "c2"}
    answered = {"type": "function_call_output", "call_id": "c2", "output": "x"}
    repaired = answer_dangling_call([USER, CALL, other, answered, USER], "c1")
    unanswered = {"type": "function_call_output", "call_id": "c1", "output": UNANSWERED}
    assert repaired == [USER, CALL, other, unanswered, answered, USER]
    # Held by the service already: the output goes first among the items not yet sent.
    assert answer_dangling_call([USER, CALL, USER], "c1", held=2) == [USER, CALL, unanswered, USER]
    assert answer_dangling_call([USER], "c1") is None


# --- reproduced against the local server --------------------------------------------------------


async def test_foreign_encrypted_reasoning_is_dropped(agent: AgentFactory, server: LocalServer):
    # Reasoning sealed by another organization (or before a key rotation): a token this server
    # cannot open is its 400 invalid_encrypted_content.
    foreign = {
        "type": "reasoning",
        "id": "rs_foreign",
        "summary": [],
        "encrypted_content": "gAAAAABforeign-organization-token",
    }
    said = {
        "type": "message",
        "role": "assistant",
        "id": "msg_foreign",
        "content": [{"type": "output_text", "text": "Earlier.", "annotations": []}],
    }
    history = Conversation(items=[USER, foreign, said])
    bot = agent(model="o4-mini", store=False)

    with pytest.warns(ReplayRepairWarning, match="could not be verified"):
        result = await bot.run("And now?", conversation=history)

    assert result.output.startswith('You said: "And now?"')
    refused, repaired = server.requests
    assert [i["type"] for i in refused["input"]] == ["message", "reasoning", "message", "message"]
    assert [i["type"] for i in repaired["input"]] == ["message", "message", "message"]
    assert "id" not in repaired["input"][1]  # the message its reasoning preceded, by value
    assert all(i.get("id") != "rs_foreign" for i in result.conversation.items)


async def test_an_item_the_service_cannot_find_is_dropped(agent: AgentFactory, server: LocalServer):
    history = Conversation(items=[USER, {"type": "item_reference", "id": "msg_deleted"}])
    with pytest.warns(ReplayRepairWarning, match="Item with id 'msg_deleted' not found"):
        result = await agent(store=False).run("Still there?", conversation=history)
    assert result.output.startswith('You said: "Still there?"')
    assert [i["type"] for i in server.requests[-1]["input"]] == ["message", "message"]


async def test_a_duplicate_of_a_stored_item_is_dropped(agent: AgentFactory, server: LocalServer):
    bot = agent(tools=[get_weather])
    first = await bot.run("Hello")
    history = first.conversation
    # A client bug: an item the service holds under the chain is sent again with its id.
    history.items.append(dict(history.items[-1]))
    server.state.requests.clear()

    with pytest.warns(ReplayRepairWarning, match="Duplicate item found"):
        second = await bot.run("Hello again", conversation=history)

    refused, repaired = server.requests
    assert refused["previous_response_id"] == repaired["previous_response_id"]
    assert [i["type"] for i in repaired["input"]] == ["message"]
    assert second.output.startswith('You said: "Hello again"')


async def test_a_dangling_call_in_a_new_run_is_declined_before_it_is_sent(
    scripted_agent: AgentFactory, scripted: LocalServer
):
    # A paused run abandoned with a new message: the call has no output. It is answered before
    # the first request, so the service never refuses the transcript (no 400 round trip).
    from agentkit.server.plan import Say

    dangling = {**CALL, "name": "get_weather", "arguments": '{"city": "Oslo"}'}
    history = Conversation(items=[USER, dangling])
    scripted.scripted.queue(Say("Understood."))

    with pytest.warns(AbandonedApprovalsWarning, match="declined"):
        result = await scripted_agent(tools=[get_weather], store=False).run(
            "never mind", conversation=history
        )

    assert result.output == "Understood."
    [sent] = [r["input"] for r in scripted.requests]
    assert [i["type"] for i in sent] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]
    assert sent[2] == {"type": "function_call_output", "call_id": "c1", "output": ABANDONED}


async def test_a_dangling_call_in_a_resumed_state_is_answered_and_its_output_kept(
    scripted_agent: AgentFactory, scripted: LocalServer
):
    # A failed run's state (here one written by hand, as an older agentkit could leave it)
    # holds a call without an output: the service's 400 becomes an output the model can read,
    # and the conversation keeps it.
    from agentkit.server.plan import Say

    dangling = {**CALL, "name": "get_weather", "arguments": '{"city": "Oslo"}'}
    new = {**USER, "content": [{"type": "input_text", "text": "never mind"}]}
    state = RunState(Conversation(items=[USER, dangling, new]), start=2, status="failed")
    state.pause_id = "p-dangling"
    scripted.scripted.queue(Say("Understood."))

    with pytest.warns(ReplayRepairWarning, match="No tool output found for function call c1"):
        result = await scripted_agent(tools=[get_weather], store=False).resume(state)

    assert result.output == "Understood."
    outputs = [i for i in result.conversation.items if i["type"] == "function_call_output"]
    assert outputs == [{"type": "function_call_output", "call_id": "c1", "output": UNANSWERED}]
    refused, repaired = (r["input"] for r in scripted.requests)
    assert [i["type"] for i in refused] == ["message", "function_call", "message"]
    assert [i["type"] for i in repaired] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]
