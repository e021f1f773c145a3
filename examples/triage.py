"""Handoffs: a triage agent hands the customer to a specialist, one of whose tools needs approval.

The triage model sees one transfer tool per specialist. When it calls one, the run goes on
with that specialist's instructions, tools and model, keeping the conversation. The refunds
specialist's tool needs a person's approval: the run pauses, its state goes to JSON and back,
a person approves, and the run resumes with the agent that was answering: refunds.

Run it: `python examples/triage.py`
"""

from __future__ import annotations

import asyncio

from agentkit import Agent, HandedOff, RunState, ToolCallStarted, local_fallback, tool


@tool
def lookup_invoice(invoice_id: int) -> str:
    """Look up an invoice by its number."""
    return f"invoice {invoice_id}: 120 EUR, paid on 3 March"


@tool(needs_approval=True)
def refund_payment(order_id: int) -> str:
    """Refund the payment of an order."""
    return f"refunded order {order_id}"


billing = Agent(
    name="billing",
    description="Invoices and payments.",
    model="gpt-4o-mini",
    instructions="You answer billing questions.",
    tools=[lookup_invoice],
)
refunds = Agent(
    name="refunds",
    description="Refunds; a person approves each one.",
    model="gpt-4o",
    instructions="You issue refunds.",
    tools=[refund_payment],
)
triage = Agent(
    name="triage",
    model="gpt-4o",
    instructions="Hand the customer to the right specialist.",
    handoffs=[billing, refunds],
)


async def main() -> None:
    question = "A billing question: please lookup invoice 7."
    print(f"user: {question}")
    async for event in triage.stream(question):
        if isinstance(event, HandedOff):
            print(f"  handed from {event.from_agent} to {event.to_agent}")
        elif isinstance(event, ToolCallStarted):
            print(f"  tool call: {event.name}({event.arguments})")
        else:
            result = getattr(event, "result", None)
            if result is not None:
                print(f"{result.agent}: {result.output}")

    question = "I want refunds: refund payment of order 42."
    print(f"user: {question}")
    paused = await triage.run(question)
    (request,) = paused.pending_approvals
    print(f"paused: {paused.agent} waits for approval of {request.tool}{request.arguments}")

    saved = paused.state.to_json()  # e.g. in a database, until a person decides
    state = RunState.from_json(saved)
    state.approve(request.id)
    done = await triage.resume(state)
    print(f"{done.agent}: {done.output}")


if __name__ == "__main__":
    if local_fallback():
        print("(no endpoint configured: agentkit's embedded local server answers)")
    asyncio.run(main())
