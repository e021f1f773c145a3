"""Guardrails: checks on the input, on each tool call, and on the final answer.

- An input guardrail stops a run whose input holds a card number, before any model call.
- A tool guardrail blocks refunds above a limit; with `on_trip="correct"` the model is told
  why instead of the run stopping.
- An output guardrail asks another agent (a judge) whether the answer is polite.

Run it: `python examples/guardrails.py`
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel

from agentkit import (
    Agent,
    GuardrailTripped,
    RunContext,
    ToolCall,
    Verdict,
    input_guardrail,
    local_fallback,
    output_guardrail,
    passed,
    tool,
    tool_input_guardrail,
    tripped,
)


@input_guardrail
def no_card_numbers(ctx: RunContext[Any], text: str) -> Verdict:
    digits = sum(c.isdigit() for c in text)
    return tripped("the message holds a card number") if digits >= 12 else passed()


@tool_input_guardrail(on_trip="correct", tools=["refund_payment"])
def refund_limit(ctx: RunContext[Any], call: ToolCall) -> Verdict:
    amount = call.parsed_arguments.get("amount", 0)
    return tripped(f"{amount} EUR is above the 500 EUR limit") if amount > 500 else passed()


class Politeness(BaseModel):
    polite: bool


judge = Agent(name="judge", model="gpt-4o-mini", output_type=Politeness)


@output_guardrail
async def polite(ctx: RunContext[Any], answer: str) -> Verdict:
    verdict = await judge.run(f"Is this answer polite? {answer}")
    return passed() if verdict.output.polite else tripped("the answer is rude")


@tool
def refund_payment(order_id: int, amount: int) -> str:
    """Refund part of an order's payment."""
    return f"refunded {amount} EUR of order {order_id}"


agent = Agent(
    model="gpt-4o",
    tools=[refund_payment],
    guardrails=[no_card_numbers, refund_limit, polite],
)


async def main() -> None:
    try:
        await agent.run("My card is 4111 1111 1111 1111, refund me")
    except GuardrailTripped as stopped:
        print(f"stopped by {stopped.guardrail} ({stopped.kind}): {stopped.state.status}")

    result = await agent.run("Please refund payment of order 42, amount 900")
    print(f"assistant: {result.output}")

    result = await agent.run("Please refund payment of order 42, amount 90")
    print(f"assistant: {result.output}")


if __name__ == "__main__":
    if local_fallback():
        print("(no endpoint configured: agentkit's embedded local server answers)")
    asyncio.run(main())
