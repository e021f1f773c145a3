"""The agents the orchestration tests (and their worker processes) run: a triage agent that
hands over to billing or refunds, and the tools those specialists use."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import openai

from agentkit import Agent, RunContext, tool


def effects() -> Path | None:
    path = os.environ.get("EFFECTS_FILE")
    return Path(path) if path else None


@tool
def lookup_invoice(invoice_id: int) -> str:
    """Look up an invoice by its number."""
    return f"invoice {invoice_id}: 120 EUR, paid"


@tool(needs_approval=True)
def refund_payment(ctx: RunContext[Any], order_id: int) -> str:
    """Refund the payment of an order (a person approves each refund)."""
    path = effects()
    if path is not None:
        with path.open("a") as file:
            file.write(f"started refund {order_id} {ctx.idempotency_key}\n")
        if os.environ.get("CRASH_HOLD"):
            time.sleep(600)  # the test kills the process here
        with path.open("a") as file:
            file.write(f"refunded {order_id} {ctx.idempotency_key}\n")
    return f"refunded order {order_id}"


def triage_team(
    client: openai.AsyncOpenAI,
    *,
    triage_model: str = "gpt-4o",
    specialist_model: str = "gpt-4o",
    **options: Any,
) -> Agent[Any]:
    """triage → billing (lookup_invoice) | refunds (refund_payment, needs approval)."""
    billing = Agent(
        name="billing",
        description="Invoices and payments.",
        model=specialist_model,
        instructions="You answer billing questions.",
        tools=[lookup_invoice],
        client=client,
        **options,
    )
    refunds = Agent(
        name="refunds",
        description="Refunds; a person approves each one.",
        model=specialist_model,
        instructions="You issue refunds.",
        tools=[refund_payment],
        client=client,
        **options,
    )
    return Agent(
        name="triage",
        model=triage_model,
        instructions="Hand the customer to the right specialist.",
        handoffs=[billing, refunds],
        client=client,
        **options,
    )
