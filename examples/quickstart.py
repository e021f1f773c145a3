"""Quickstart: an agent with two tools, one using your own dependencies, over two turns.

Run it: `python examples/quickstart.py`
"""

from __future__ import annotations

from dataclasses import dataclass

from agentkit import Agent, Conversation, RunContext, RunResult, local_fallback, tool


@dataclass
class Shop:
    """Whatever your tools need at run time: a database, an HTTP client, the current user."""

    orders: dict[int, str]


@tool
def get_weather(city: str) -> dict[str, object]:
    """Get the current weather in a city.

    Args:
        city: The city's name, e.g. "Paris".
    """
    return {"city": city, "temperature_c": 21, "sky": "sunny"}


@tool
def order_status(ctx: RunContext[Shop], order_id: int) -> str:
    """Look up where a customer's order is.

    Args:
        order_id: The order number.
    """
    return ctx.deps.orders.get(order_id, "no such order")


agent = Agent(
    model="gpt-4o",  # on Azure: your deployment's name
    instructions="You are a helpful shop assistant. Use the tools to answer.",
    tools=[get_weather, order_status],
)


def ask(question: str, shop: Shop, conversation: Conversation | None = None) -> RunResult[str]:
    """Run the agent on one user message (continuing `conversation`) and show what happened."""
    print("user:", question)
    result = agent.run_sync(question, conversation=conversation, context=shop)
    for item in result.new_items:
        if item["type"] == "function_call":
            print(f"  tool call: {item['name']}({item['arguments']})")
    print("assistant:", result.output)
    return result


def main() -> None:
    shop = Shop(orders={42: "shipped, arriving Tuesday"})
    first = ask("What's the weather in Paris?", shop)
    # Pass the conversation back to continue it: the agent sends only the new message,
    # chained to the previous response by `previous_response_id`.
    second = ask("What is the status of order 42?", shop, first.conversation)

    usage = first.usage + second.usage
    print(
        f"usage: {usage.requests} requests, {usage.input_tokens} input tokens "
        f"({usage.cached_tokens} cached), {usage.output_tokens} output tokens"
    )


if __name__ == "__main__":
    if local_fallback():
        print("(no endpoint configured: agentkit's embedded local server answers)")
    main()
