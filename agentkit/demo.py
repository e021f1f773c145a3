"""The README's first command: the Responses API page's samples, then the agentkit quickstart.

With no credentials this starts `agentkit serve` in-process and talks to it with the real
`openai` client. Set `AGENTKIT_BASE_URL`, `AZURE_OPENAI_ENDPOINT` (+ key or Entra ID) or
`OPENAI_API_KEY` (the first one set wins, as for agents) to point the same samples at a real
deployment (`AGENTKIT_MODEL` names it). The quickstart is `examples/quickstart.py`, run as is.
"""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openai import OpenAI
from openai.types.responses import FunctionToolParam, ResponseInputItemParam

from agentkit.model import ENTRA_SCOPE, azure_v1_base_url

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 66 - len(title)))


@contextmanager
def demo_client() -> Iterator[tuple[OpenAI, str]]:
    """A client for the configured deployment, or for a local server started here."""
    model = os.environ.get("AGENTKIT_MODEL", "gpt-4o")
    if base_url := os.environ.get("AGENTKIT_BASE_URL"):
        yield OpenAI(base_url=base_url, api_key=os.environ.get("AGENTKIT_API_KEY", "local")), model
        return
    if endpoint := os.environ.get("AZURE_OPENAI_ENDPOINT"):
        yield _azure_client(azure_v1_base_url(endpoint)), model
        return
    if os.environ.get("OPENAI_API_KEY"):
        yield OpenAI(), model
        return
    from agentkit.server import LocalServer

    with LocalServer() as server:
        print(f"(no credentials set: using the local server at {server.base_url})")
        os.environ["AGENTKIT_BASE_URL"] = server.base_url  # agents in this process use it too
        try:
            yield OpenAI(base_url=server.base_url, api_key="local"), model
        finally:
            del os.environ["AGENTKIT_BASE_URL"]


def _azure_client(base_url: str) -> OpenAI:
    """Azure's v1 API by `AZURE_OPENAI_API_KEY`, else by Entra ID (`DefaultAzureCredential`)."""
    if key := os.environ.get("AZURE_OPENAI_API_KEY"):
        return OpenAI(base_url=base_url, api_key=key, default_headers={"api-key": key})
    from azure.identity import DefaultAzureCredential, get_bearer_token_provider

    provider = get_bearer_token_provider(DefaultAzureCredential(), ENTRA_SCOPE)
    return OpenAI(base_url=base_url, api_key=provider)


def run_samples(client: OpenAI, model: str) -> None:
    section("Generate a text response")
    response = client.responses.create(model=model, input="This is a test")
    print(response.output_text)

    section("Retrieve it")
    print(client.responses.retrieve(response.id).status, response.id)

    section("Chain by previous_response_id")
    first = client.responses.create(
        model=model, input="Define and explain the concept of catastrophic forgetting?"
    )
    second = client.responses.create(
        model=model,
        previous_response_id=first.id,
        input=[{"role": "user", "content": "Explain this at a level a college freshman gets"}],
    )
    print(second.output_text)

    section("Chain manually (send the items yourself)")
    inputs: list[Any] = [
        {"type": "message", "role": "user", "content": "Define catastrophic forgetting?"}
    ]
    reply = client.responses.create(model=model, input=inputs)
    inputs += reply.output
    inputs.append({"role": "user", "type": "message", "content": "Explain it more simply"})
    print(client.responses.create(model=model, input=inputs).output_text)

    section("Stream")
    for event in client.responses.create(model=model, input="This is a test", stream=True):
        if event.type == "response.output_text.delta":
            print(event.delta, end="", flush=True)
    print()

    section("Function calling")
    tools: list[FunctionToolParam] = [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Get the weather for a location",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string"}},
                "required": ["location"],
                "additionalProperties": False,
            },
            "strict": True,
        }
    ]
    asked = client.responses.create(
        model=model,
        tools=tools,
        input=[{"role": "user", "content": "What's the weather in San Francisco?"}],
    )
    outputs: list[ResponseInputItemParam] = []
    for item in asked.output:
        if item.type == "function_call":
            print(f"model called {item.name}({item.arguments})")
            outputs.append(
                {
                    "type": "function_call_output",
                    "call_id": item.call_id,
                    "output": '{"temperature": "70 degrees"}',
                }
            )
    answer = client.responses.create(model=model, previous_response_id=asked.id, input=outputs)
    print(answer.output_text)

    section("List input items")
    items = client.responses.input_items.list(answer.id)
    for entry in items.data:
        print(f"- {entry.type} {entry.id}")

    section("Delete a response")
    client.responses.delete(response.id)
    print(f"deleted {response.id}")


def run_quickstart() -> None:
    """Run `examples/quickstart.py` as a script, against the endpoint the samples used."""
    section("agentkit quickstart (examples/quickstart.py)")
    if not QUICKSTART.exists():
        print(f"(skipped: {QUICKSTART} is not here; it ships with the source repository)")
        return
    sys.path.insert(0, str(QUICKSTART.parent))  # as `python examples/quickstart.py` would
    try:
        runpy.run_path(str(QUICKSTART), run_name="__main__")
    finally:
        sys.path.remove(str(QUICKSTART.parent))


def main() -> int:
    with demo_client() as (client, model):
        run_samples(client, model)
        run_quickstart()
    return 0


if __name__ == "__main__":
    sys.exit(main())
