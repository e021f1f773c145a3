"""Stateless runs (`store=False`): nothing is kept by the service; you keep the conversation.

With `store=False` the agent sends the whole transcript each turn, including the reasoning
model's encrypted reasoning (requested automatically), so the model keeps its chain of thought
across tool calls and turns without any data retained server-side. Save the conversation as
JSON wherever you keep sessions; it holds items only, never keys.

Run it: `python examples/stateless.py`
"""

from __future__ import annotations

import json
import os

from agentkit import Agent, Conversation, ModelSettings, RunResult, local_fallback, tool


@tool
def get_weather(city: str) -> dict[str, object]:
    """Get the current weather in a city."""
    return {"city": city, "temperature_c": 21, "sky": "sunny"}


agent = Agent(
    model="o4-mini",  # a reasoning model
    tools=[get_weather],
    store=False,
    settings=ModelSettings(reasoning_summary="auto"),
)


def ask(question: str, conversation: Conversation | None = None) -> RunResult[str]:
    """Run the agent on one user message and show its reasoning summaries and tool calls."""
    print("user:", question)
    result = agent.run_sync(question, conversation=conversation)
    for item in result.new_items:
        if item["type"] == "reasoning":
            for part in item["summary"]:
                print("  reasoning:", part["text"])
        elif item["type"] == "function_call":
            print(f"  tool call: {item['name']}({item['arguments']})")
    print("assistant:", result.output)
    return result


def main() -> None:
    result = ask("What's the weather in Paris?")

    saved = result.conversation.to_json()  # e.g. into your session store, between requests
    items = json.loads(saved)["items"]
    encrypted = [item for item in items if item.get("encrypted_content")]
    print(f"saved conversation: {len(items)} items, {len(encrypted)} with encrypted reasoning")
    keys = [
        os.environ.get(name)
        for name in ("AGENTKIT_API_KEY", "AZURE_OPENAI_API_KEY", "OPENAI_API_KEY")
    ]
    print("API key in it:", any(key and key in saved for key in keys))

    # The next request, maybe in another process: load the conversation and continue it.
    ask("What about the weather in Rome?", Conversation.from_json(saved))


if __name__ == "__main__":
    if local_fallback():
        print("(no endpoint configured: agentkit's embedded local server answers)")
    main()
