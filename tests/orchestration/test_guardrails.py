"""Guardrails over the real wire: input (before and alongside the first model call), output
(typed), tool input and output; tripped ones raise a typed error with the state, or tell the
model to correct itself; a guardrail may call an agent."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from agentkit import (
    Agent,
    ConfigurationError,
    GuardrailTripped,
    RunContext,
    ToolCall,
    Verdict,
    input_guardrail,
    output_guardrail,
    passed,
    tool,
    tool_input_guardrail,
    tool_output_guardrail,
    tripped,
)
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Say, Wait

from .team import lookup_invoice


@input_guardrail
def no_card_numbers(ctx: RunContext[Any], text: str) -> Verdict:
    """Sync: it runs in a worker thread."""
    return tripped("a card number", info={"found": 1}) if "4111" in text else passed()


async def test_a_tripped_input_guardrail_stops_the_run_before_any_model_call(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    bot = Agent(model="gpt-4o", client=client, guardrails=[no_card_numbers])
    with pytest.raises(GuardrailTripped) as stopped:
        await bot.run("my card is 4111 1111")
    error = stopped.value
    assert (error.guardrail, error.kind, error.info) == ("no_card_numbers", "input", {"found": 1})
    assert "tripped: a card number" in str(error)
    assert error.state.status == "failed"
    assert server.requests == []

    fine = await bot.run("hello")
    assert fine.output == 'You said: "hello".'


async def test_a_correcting_input_guardrail_tells_the_model(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    @input_guardrail(on_trip="correct")
    async def polite(ctx: RunContext[Any], text: str) -> Verdict:
        return tripped("rude words") if "stupid" in text else passed()

    result = await Agent(model="gpt-4o", client=client, guardrails=[polite]).run("stupid bot")
    (body,) = server.requests
    assert body["input"][-1] == {
        "type": "message",
        "role": "developer",
        "content": [
            {
                "type": "input_text",
                "text": "The guardrail 'polite' flagged the user's input: rude words Do not act "
                "on what it flagged; tell the user why.",
            }
        ],
    }
    assert result.state.input_checked


async def test_an_input_guardrail_alongside_the_model_call_stops_it(
    scripted: LocalServer, scripted_aclient: openai.AsyncOpenAI
) -> None:
    @input_guardrail(alongside=True)
    async def slow_check(ctx: RunContext[Any], text: str) -> Verdict:
        for _ in range(1000):  # until the model call has reached the server
            if scripted.requests:
                break
            await asyncio.sleep(0.01)
        return tripped("off topic")

    scripted.scripted.queue([Wait(30), Say("too late")])
    bot = Agent(model="gpt-4o", client=scripted_aclient, guardrails=[slow_check])
    with pytest.raises(GuardrailTripped, match="off topic") as stopped:
        async with asyncio.timeout(10):  # the model call (30 s) was abandoned
            await bot.run("anything")
    assert len(scripted.requests) == 1
    assert stopped.value.state.response_ids == []


async def test_an_input_guardrail_alongside_that_passes_lets_the_answer_through(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    @input_guardrail(alongside=True)
    async def fine(ctx: RunContext[Any], text: str) -> Verdict:
        await asyncio.sleep(0.05)
        return passed()

    result = await Agent(model="gpt-4o", client=client, guardrails=[fine]).run("hi")
    assert result.output == 'You said: "hi".'


class Invoice(BaseModel):
    customer: str
    amount: float


async def test_output_guardrails_see_the_typed_answer_and_send_it_back(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    seen: list[Any] = []

    @output_guardrail(on_trip="correct")
    def positive(ctx: RunContext[Any], output: Invoice) -> Verdict:
        seen.append(output)
        return tripped("the amount must be above 100") if output.amount <= 100 else passed()

    bot = Agent(
        model="gpt-4o", client=client, output_type=Invoice, guardrails=[positive], output_retries=1
    )
    with pytest.raises(GuardrailTripped) as stopped:
        await bot.run("Invoice for Acme, 12 EUR")
    assert all(isinstance(s, Invoice) for s in seen) and len(seen) == 2
    _first, second = server.requests
    assert second["input"][-1]["content"][0]["text"] == (
        "Your answer was refused by the guardrail 'positive': the amount must be above 100 "
        "Answer again."
    )
    assert stopped.value.kind == "output"
    assert stopped.value.state.output_retries == 1


async def test_a_raising_output_guardrail_stops_at_once(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    @output_guardrail
    def never(ctx: RunContext[Any], output: str) -> Verdict:
        return tripped("no")

    with pytest.raises(GuardrailTripped):
        await Agent(model="gpt-4o", client=client, guardrails=[never]).run("hi")
    assert len(server.requests) == 1


async def test_tool_guardrails_block_calls_and_withhold_outputs(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    @tool_input_guardrail(on_trip="correct", tools=["lookup_invoice"])
    def small_numbers(ctx: RunContext[Any], call: ToolCall) -> Verdict:
        return (
            tripped("invoice numbers are below 1000")
            if call.parsed_arguments["invoice_id"] >= 1000
            else passed()
        )

    @tool_output_guardrail(on_trip="correct")
    def no_amounts(ctx: RunContext[Any], call: ToolCall, output: str) -> Verdict:
        return tripped("amounts are private") if "EUR" in output else passed()

    bot = Agent(
        model="gpt-4o",
        client=client,
        tools=[lookup_invoice],
        guardrails=[small_numbers, no_amounts],
    )
    blocked = await bot.run("lookup invoice 5000")
    assert blocked.output == (
        "Here is what the tools returned: lookup_invoice returned Error: the guardrail "
        "'small_numbers' blocked this call: invoice numbers are below 1000."
    )
    withheld = await bot.run("lookup invoice 7")
    assert withheld.output == (
        "Here is what the tools returned: lookup_invoice returned Error: the guardrail "
        "'no_amounts' withheld this output: amounts are private."
    )


async def test_a_raising_tool_guardrail_fails_the_run_with_its_state(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    ran: list[str] = []

    @tool
    def delete_all() -> str:
        """Delete everything."""
        ran.append("deleted")
        return "done"

    @tool_input_guardrail
    def nothing_destructive(ctx: RunContext[Any], call: ToolCall) -> Verdict:
        return (
            tripped(f"{call.name} is destructive") if call.name.startswith("delete") else passed()
        )

    bot = Agent(model="gpt-4o", client=client, tools=[delete_all], guardrails=[nothing_destructive])
    with pytest.raises(GuardrailTripped, match="delete_all is destructive") as stopped:
        await bot.run("please delete all")
    assert ran == []
    assert stopped.value.kind == "tool_input"
    assert stopped.value.state.status == "failed"
    assert stopped.value.state.mid_turn


async def test_a_guardrail_may_call_an_agent(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    class Check(BaseModel):
        safe: bool

    judge = Agent(name="judge", model="gpt-4o-mini", client=client, output_type=Check)

    @input_guardrail
    async def judged(ctx: RunContext[Any], text: str) -> Verdict:
        verdict = await judge.run(f"Is this safe? {text}")
        return passed(info=verdict.output) if verdict.output.safe else tripped("unsafe")

    result = await Agent(model="gpt-4o", client=client, guardrails=[judged]).run("hi")
    assert [b["model"] for b in server.requests] == ["gpt-4o-mini", "gpt-4o"]
    assert result.output == 'You said: "hi".'


def test_guardrail_options_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="alongside=True"):
        input_guardrail(alongside=True, on_trip="correct")(lambda ctx, text: passed())
    with pytest.raises(ConfigurationError, match="not a guardrail"):
        Agent(model="gpt-4o", guardrails=[lambda ctx, text: passed()])  # type: ignore[list-item]


async def test_a_guardrail_must_return_a_verdict(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    @input_guardrail
    def sloppy(ctx: RunContext[Any], text: str) -> Any:
        return True

    with pytest.raises(ConfigurationError, match="return passed"):
        await Agent(model="gpt-4o", client=client, guardrails=[sloppy]).run("hi")


async def test_scripted_calls_are_checked_too(
    scripted: LocalServer, scripted_aclient: openai.AsyncOpenAI
) -> None:
    @tool_input_guardrail(on_trip="correct")
    def no_zero(ctx: RunContext[Any], call: ToolCall) -> Verdict:
        return tripped("no invoice 0") if call.parsed_arguments.get("invoice_id") == 0 else passed()

    scripted.scripted.queue(
        [Call("lookup_invoice", '{"invoice_id": 0}'), Call("lookup_invoice", '{"invoice_id": 3}')]
    )
    scripted.scripted.queue([Say("ok")])
    bot = Agent(
        model="gpt-4o", client=scripted_aclient, tools=[lookup_invoice], guardrails=[no_zero]
    )
    result = await bot.run("two")
    outputs = [i["output"] for i in result.new_items if i["type"] == "function_call_output"]
    assert outputs == [
        "Error: the guardrail 'no_zero' blocked this call: no invoice 0",
        "invoice 3: 120 EUR, paid",
    ]


def test_one_decorator_makes_several_guardrails() -> None:
    refunds_only = tool_input_guardrail(tools=["refund"], on_trip="correct")
    first = refunds_only(lambda ctx, call: passed())
    second = refunds_only(lambda ctx, call: passed())
    assert first.tools == second.tools == frozenset({"refund"})
    assert first.on_trip == second.on_trip == "correct"
