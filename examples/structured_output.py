"""Structured output: the final answer parsed into a pydantic model.

`output_type` is sent as a strict JSON schema (`text.format`), and the answer is validated
into your type; an answer that doesn't fit is sent back to the model to fix.

Run it: `python examples/structured_output.py`
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from agentkit import Agent, local_fallback


class Invoice(BaseModel):
    customer: str
    amount: float = Field(description="The total, without the currency")
    currency: Literal["EUR", "USD", "GBP"]
    paid: bool


agent = Agent(
    model="gpt-4o",
    instructions="Extract the invoice from the user's text.",
    output_type=Invoice,
)


def main() -> None:
    result = agent.run_sync('Invoice from "Acme Corp": 1250.50 EUR, already paid.')
    invoice = result.output  # an Invoice, validated
    print(repr(invoice))
    status = "paid" if invoice.paid else "unpaid"
    print(f"{invoice.customer}: {invoice.amount:.2f} {invoice.currency}, {status}")


if __name__ == "__main__":
    if local_fallback():
        print("(no endpoint configured: agentkit's embedded local server answers)")
    main()
