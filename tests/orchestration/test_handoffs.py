"""Handoffs over the real wire: the next agent's instructions, tools, model and output type, the
history it sees, chaining, reasoning across models, and which agent a stopped run resumes with."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from pydantic import BaseModel

from agentkit import (
    Agent,
    ConfigurationError,
    HandedOff,
    ResumeError,
    RunContext,
    RunState,
    ToolCallStarted,
    handoff,
)
from agentkit.handoffs import HandoffHistory, remove_tool_calls
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Fail, Say

from .team import lookup_invoice, triage_team


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
    scripted: LocalServer, scripted_client: openai.AsyncOpenAI
) -> None:
    queue = scripted.scripted
    queue.queue([Call("transfer_to_billing", "{}")])
    queue.queue(Fail(500, "the model is down", type="server_error"))
    team = triage_team(scripted_client, specialist_model="gpt-4o-mini")
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
    scripted: LocalServer, scripted_client: openai.AsyncOpenAI
) -> None:
    scripted.scripted.queue([Call("transfer_to_refunds", "{}"), Call("transfer_to_billing", "{}")])
    scripted.scripted.queue([Say("refunds here")])
    result = await triage_team(scripted_client).run("both")
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
