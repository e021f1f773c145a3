"""Structured output: the final answer parsed into a pydantic model.

`output_type` is sent as a strict JSON schema (`text.format`), and the answer is validated
into your type; an answer that doesn't fit is sent back to the model to fix.

Run it: `python examples/structured_output.py`
"""

from __future__ import annotations

from typing import Literal

from _local import local_server_if_needed
from pydantic import BaseModel, Field

from agentkit import Agent


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
    with local_server_if_needed():
        main()
