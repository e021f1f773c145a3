"""Handoffs over the real wire: the next agent's instructions, tools, model and output type, the
history it sees, chaining, reasoning across models, and which agent a stopped run resumes with."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from agentkit import (
    Agent,
    ConfigurationError,
    Conversation,
    HandedOff,
    ResumeError,
    RunContext,
    RunState,
    ToolCallStarted,
    approve,
    handoff,
)
from agentkit.checkpoints import SQLiteCheckpoints
from agentkit.handoffs import HandoffHistory, remove_tool_calls
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Fail, Say

from .team import lookup_invoice, triage_team

WORKER = Path(__file__).with_name("worker.py")


def transfer_names(body: dict[str, Any]) -> list[str]:
    return [t["name"] for t in body.get("tools", [])]


async def test_a_handoff_switches_instructions_tools_model_and_keeps_the_chain(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    team = triage_team(client, specialist_model="gpt-4o-mini")
    result = await team.run("A billing question: please lookup invoice 7.")

    assert result.agent == "billing"
    assert (
        result.output
        == "Here is what the tools returned: lookup_invoice returned invoice 7: 120 EUR, paid."
    )
    first, second, third = server.requests
    assert (first["model"], first["instructions"]) == (
        "gpt-4o",
        "Hand the customer to the right specialist.",
    )
    assert transfer_names(first) == ["transfer_to_billing", "transfer_to_refunds"]
    assert first["tools"][0]["strict"] is True
    assert first["tools"][0]["description"] == (
        "Hand the conversation over to the billing agent. Invoices and payments."
    )
    assert (second["model"], second["instructions"]) == (
        "gpt-4o-mini",
        "You answer billing questions.",
    )
    assert transfer_names(second) == transfer_names(third) == ["lookup_invoice"]
    # the next agent's request chains to the transfer's response and sends its output only
    assert second["previous_response_id"] == result.response_ids[0]
    assert [i["type"] for i in second["input"]] == ["function_call_output"]
    assert second["input"][0]["output"] == "Transferred to billing."
    assert result.state.agent == "billing"


async def test_the_run_yields_the_handoff_and_the_output_type_switches(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    class Invoice(BaseModel):
        invoice_id: int
        paid: bool

    billing = Agent(name="billing", model="gpt-4o", output_type=Invoice, client=client)
    triage = Agent(name="triage", model="gpt-4o", handoffs=[billing], client=client)
    events = [e async for e in triage.stream("billing please, invoice 7")]

    handed = [e for e in events if isinstance(e, HandedOff)]
    assert [(h.from_agent, h.to_agent) for h in handed] == [("triage", "billing")]
    calls = [e for e in events if isinstance(e, ToolCallStarted)]
    assert handed[0].call_id == calls[0].call_id
    final = events[-1].result  # type: ignore[union-attr]
    assert isinstance(final.output, Invoice)
    assert server.requests[1]["text"]["format"]["name"] == "Invoice"
    assert "text" not in server.requests[0]


async def test_typed_arguments_reach_on_handoff(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    class Escalation(BaseModel):
        reason: str
        priority: int

    seen: list[tuple[str, Any]] = []

    async def note(ctx: RunContext[Any], args: Escalation) -> None:
        seen.append((ctx.deps, args))

    manager = Agent(name="manager", model="gpt-4o", client=client)
    triage = Agent(
        name="triage",
        model="gpt-4o",
        client=client,
        handoffs=[handoff(manager, tool_name="escalate", input_type=Escalation, on_handoff=note)],
    )
    result = await triage.run("please escalate this, priority 2", context="deps")

    assert result.agent == "manager"
    (tool,) = server.requests[0]["tools"]
    assert tool["name"] == "escalate"
    assert tool["parameters"]["required"] == ["reason", "priority"]
    assert tool["strict"] is True
    ((deps, args),) = seen
    assert deps == "deps"
    assert isinstance(args, Escalation)
    assert args.priority == 2


async def test_a_history_filter_decides_what_the_next_agent_sees(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    seen: list[HandoffHistory] = []

    def only_messages(history: HandoffHistory) -> HandoffHistory:
        seen.append(history)
        return remove_tool_calls(history)

    billing = Agent(name="billing", model="gpt-4o", client=client, tools=[lookup_invoice])
    triage = Agent(
        name="triage",
        model="gpt-4o",
        client=client,
        handoffs=[handoff(billing, history=only_messages)],
    )
    earlier = await triage.run("hello there")
    result = await triage.run("billing: lookup invoice 7", conversation=earlier.conversation)

    (history,) = seen
    assert [i["type"] for i in history.earlier] == ["message", "message"]
    assert [i["type"] for i in history.run] == ["message", "function_call", "function_call_output"]
    after_handoff = server.requests[2]
    assert "previous_response_id" not in after_handoff  # the history changed: sent by value
    assert [i["type"] for i in after_handoff["input"]] == ["message"] * 3
    assert result.agent == "billing"
    assert [i["type"] for i in result.new_items][:1] == ["message"]
    assert result.output.startswith("Here is what the tools returned: lookup_invoice returned")


@pytest.mark.parametrize(
    ("store", "chaining"), [(True, "previous_response_id"), (True, "items"), (False, "items")]
)
async def test_reasoning_stays_with_its_model(
    server: LocalServer, client: openai.AsyncOpenAI, store: bool, chaining: str
) -> None:
    """o4-mini hands to gpt-4o (which refuses reasoning items): they are dropped, with the ids of
    the items that followed them, and the transcript is sent by value once; to the same model
    they are kept (and the chain too)."""
    for specialist, kept in (("gpt-4o", False), ("o4-mini", True)):
        server.state.requests.clear()
        team = triage_team(
            client,
            triage_model="o4-mini",
            specialist_model=specialist,
            store=store,
            chaining=chaining,
        )
        result = await team.run("billing: lookup invoice 7")
        assert result.agent == "billing"
        _, second, third = server.requests
        sent = second["input"]
        reasoning = [i for i in [*sent, *third["input"]] if i["type"] == "reasoning"]
        if kept and chaining == "previous_response_id":
            assert second["previous_response_id"] == result.response_ids[0]
            assert [i["type"] for i in sent] == ["function_call_output"]
        elif kept:
            assert reasoning and all(i["encrypted_content"] for i in reasoning)
        else:
            assert "previous_response_id" not in second
            assert reasoning == []
            assert [i["type"] for i in sent] == ["message", "function_call", "function_call_output"]
            assert "id" not in sent[1]  # its reasoning item is gone, so is its id
        assert result.output.startswith("Here is what the tools returned: lookup_invoice")


async def test_a_run_paused_after_a_handoff_resumes_with_the_specialist(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    team = triage_team(client)
    paused = await team.run("refunds please: refund payment of order 42")
    assert paused.paused
    assert paused.state.agent == "refunds"
    (request,) = paused.pending_approvals
    assert request.tool == "refund_payment"

    state = RunState.from_json(paused.state.to_json())
    state.approve(request.id)
    server.state.requests.clear()
    done = await triage_team(client).resume(state)

    assert done.agent == "refunds"
    assert (
        done.output == "Here is what the tools returned: refund_payment returned refunded order 42."
    )
    (body,) = server.requests
    assert body["instructions"] == "You issue refunds."
    assert transfer_names(body) == ["refund_payment"]


async def test_a_failed_run_resumes_with_the_agent_that_was_answering(
    scripted: LocalServer, scripted_aclient: openai.AsyncOpenAI
) -> None:
    queue = scripted.scripted
    queue.queue([Call("transfer_to_billing", "{}")])
    queue.queue(Fail(500, "the model is down", type="server_error"))
    team = triage_team(scripted_aclient, specialist_model="gpt-4o-mini")
    with pytest.raises(Exception) as failure:
        await team.run("billing")
    state = failure.value.state  # type: ignore[attr-defined]
    assert (state.status, state.agent) == ("failed", "billing")

    queue.queue([Say("Your invoice is paid.")])
    scripted.state.requests.clear()
    done = await team.resume(state)
    assert (done.agent, done.output) == ("billing", "Your invoice is paid.")
    assert [b["model"] for b in scripted.requests] == ["gpt-4o-mini"]


async def test_resuming_with_an_agent_that_cannot_reach_the_answering_one_is_refused(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    paused = await triage_team(client).run("refunds please: refund payment of order 42")
    loner = Agent(name="triage", model="gpt-4o", client=client)
    with pytest.raises(ResumeError, match="tools are not the ones"):
        await loner.resume(paused.state)


async def test_only_the_first_of_two_transfers_in_a_turn_happens(
    scripted: LocalServer, scripted_aclient: openai.AsyncOpenAI
) -> None:
    scripted.scripted.queue([Call("transfer_to_refunds", "{}"), Call("transfer_to_billing", "{}")])
    scripted.scripted.queue([Say("refunds here")])
    result = await triage_team(scripted_aclient).run("both")
    assert result.agent == "refunds"
    outputs = [i["output"] for i in result.new_items if i["type"] == "function_call_output"]
    assert outputs == [
        "Transferred to refunds.",
        "Not transferred: the conversation went to refunds.",
    ]


def test_agents_a_run_can_reach_need_distinct_names() -> None:
    one = Agent(name="helper", model="gpt-4o")
    other = Agent(name="helper", model="gpt-4o-mini")
    middle = Agent(name="middle", model="gpt-4o", handoffs=[other])
    with pytest.raises(ConfigurationError, match="named 'helper'"):
        Agent(name="root", model="gpt-4o", handoffs=[one, middle])


def test_a_transfer_tool_may_not_clash_with_a_tool() -> None:
    billing = Agent(name="billing", model="gpt-4o")

    def transfer_to_billing() -> str:
        """Not a handoff."""
        return ""

    with pytest.raises(ConfigurationError, match="share a name"):
        Agent(name="triage", model="gpt-4o", tools=[transfer_to_billing], handoffs=[billing])


def test_a_run_crashed_after_a_handoff_resumes_with_the_specialist(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker process is SIGKILLed while the refunds agent's tool runs; resumed here by its
    run id, the refunds agent answers, and the tool runs again under the same idempotency key."""
    effects, db = tmp_path / "effects.txt", str(tmp_path / "runs.db")
    env = {**os.environ, "EFFECTS_FILE": str(effects), "CRASH_HOLD": "1"}
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), "triage", server.base_url, db, "crash-1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            if effects.exists() and "started refund" in effects.read_text():
                break
            time.sleep(0.05)
        else:
            pytest.fail("the refund never started")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)

    monkeypatch.setenv("EFFECTS_FILE", str(effects))

    async def resume() -> Any:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k") as client:
            team = triage_team(client, approval=lambda request: approve())
            return await team.resume("crash-1", checkpoints=SQLiteCheckpoints(db))

    result = asyncio.run(resume())
    assert result.agent == "refunds"
    assert (
        result.output
        == "Here is what the tools returned: refund_payment returned refunded order 42."
    )
    started, again, refunded = effects.read_text().splitlines()
    key = started.split()[-1]
    assert key.startswith("crash-1:call_")
    assert again == started
    assert refunded == f"refunded 42 {key}"


@pytest.mark.parametrize("store", [True, False])
async def test_a_conversation_continued_by_another_model_leaves_its_reasoning_behind(
    server: LocalServer, client: openai.AsyncOpenAI, store: bool
) -> None:
    thinker = Agent(model="o4-mini", client=client, store=store, tools=[lookup_invoice])
    first = await thinker.run("lookup invoice 7")
    assert first.conversation.model == "o4-mini"
    server.state.requests.clear()

    plain = Agent(model="gpt-4o", client=client, store=store)
    second = await plain.run("thanks", conversation=first.conversation)

    (body,) = server.requests  # sent once, accepted
    assert "previous_response_id" not in body
    assert all(i["type"] != "reasoning" for i in body["input"])
    assert all("id" not in i for i in body["input"] if i["type"] == "function_call")
    assert all(i["type"] != "reasoning" for i in second.conversation.items)
    assert second.conversation.items[:1] == first.conversation.items[:1]


async def test_reasoning_a_model_refuses_is_dropped_and_the_call_sent_again(
    server: LocalServer, client: openai.AsyncOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    """A conversation that does not say which model made its reasoning (saved before
    agentkit recorded it): the service's 400 is recovered from, once."""
    first = await Agent(model="o4-mini", client=client).run("hi")
    saved = first.conversation.to_dict()
    saved.pop("model")
    server.state.requests.clear()

    again = await Agent(model="gpt-4o", client=client).run(
        "again", conversation=Conversation.from_dict(saved)
    )
    refused, sent = server.requests
    assert refused["previous_response_id"] == first.last_response_id
    assert "previous_response_id" not in sent
    assert [i["type"] for i in sent["input"]] == ["message", "message", "message"]
    assert again.output.startswith('You said: "again".')
    assert "gpt-4o refused the conversation's reasoning items" in caplog.text
