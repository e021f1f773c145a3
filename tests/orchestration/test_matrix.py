"""Handoffs and agents as tools in every chaining mode, end to end over HTTP against a real
`agentkit serve` process: chaining by store by reasoning models by handoff or agent-as-tool.

Every cell runs two turns of one conversation and must complete without a single 4xx (the
server refuses, as the service does, reasoning items sent to a model that does not reason,
and stored items referenced with store=false).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from agentkit import Agent, Conversation

from .research import search_papers
from .team import lookup_invoice

ROOT = Path(__file__).resolve().parents[2]

MODES = [
    pytest.param(True, "previous_response_id", id="store-chained"),
    pytest.param(True, "items", id="store-items"),
    pytest.param(False, "items", id="stateless"),
]
MODELS = [
    pytest.param("gpt-4o", "gpt-4o-mini", id="plain"),
    pytest.param("o4-mini", "o4-mini", id="reasoning-same-model"),
    pytest.param("o4-mini", "gpt-4o", id="reasoning-into-plain"),
    pytest.param("gpt-4o", "o4-mini", id="plain-into-reasoning"),
]


@pytest.fixture(scope="module")
def serve() -> Iterator[str]:
    """`agentkit serve` in its own process; its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "agentkit.cli", "serve", "--port", str(port), "--db", ":memory:"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(15)


@pytest.fixture
async def wire(
    serve: str,
) -> AsyncIterator[tuple[openai.AsyncOpenAI, list[tuple[int, dict[str, Any]]]]]:
    """A real client on the served API, and every (status, request body) it exchanged."""
    exchanged: list[tuple[int, dict[str, Any]]] = []

    async def record(response: httpx2.Response) -> None:
        await response.aread()
        request = response.request
        body = httpx2.Request(request.method, request.url, content=request.content)
        exchanged.append((response.status_code, _json(body.content)))

    http = openai.DefaultAsyncHttpxClient(event_hooks={"response": [record]})
    async with openai.AsyncOpenAI(
        base_url=serve, api_key="k", http_client=http, max_retries=0
    ) as client:
        yield client, exchanged


def _json(content: bytes) -> dict[str, Any]:
    import json

    return json.loads(content) if content else {}


def handoff_cell(client: openai.AsyncOpenAI, first: str, second: str, **options: Any) -> Agent[Any]:
    billing = Agent(name="billing", model=second, tools=[lookup_invoice], client=client, **options)
    return Agent(name="triage", model=first, handoffs=[billing], client=client, **options)


def agent_tool_cell(
    client: openai.AsyncOpenAI, first: str, second: str, **options: Any
) -> Agent[Any]:
    papers = Agent(name="papers", model=second, tools=[search_papers], client=client, **options)
    return Agent(name="lead", model=first, tools=[papers.as_tool()], client=client, **options)


@pytest.mark.parametrize(("store", "chaining"), MODES)
@pytest.mark.parametrize(("first", "second"), MODELS)
@pytest.mark.parametrize("shape", ["handoff", "agent-as-tool"])
async def test_every_cell_completes_without_a_4xx(
    wire: tuple[openai.AsyncOpenAI, list[tuple[int, dict[str, Any]]]],
    store: bool,
    chaining: str,
    first: str,
    second: str,
    shape: str,
) -> None:
    client, exchanged = wire
    options = {"store": store, "chaining": chaining}
    if shape == "handoff":
        agent = handoff_cell(client, first, second, **options)
        prompts = ("billing: lookup invoice 7", "billing again: lookup invoice 8")
        answers = ("lookup_invoice returned invoice 7", "lookup_invoice returned invoice 8")
    else:
        agent = agent_tool_cell(client, first, second, **options)
        prompts = ('ask papers "search papers on Lithium"', 'ask papers "search papers on Cobalt"')
        answers = (
            "search_papers returned 3 papers on Lithium",
            "search_papers returned 3 papers on Cobalt",
        )

    one = await agent.run(prompts[0])
    two = await agent.run(
        prompts[1], conversation=Conversation.from_json(one.conversation.to_json())
    )

    assert [status for status, _ in exchanged] == [200] * len(exchanged)
    for result, answer in zip((one, two), answers, strict=True):
        assert not result.paused
        assert answer in result.output
    if shape == "handoff":
        assert (one.agent, two.agent) == ("billing", "billing")
    bodies = [body for _, body in exchanged]
    assert all(body["store"] is store for body in bodies)
    if not store:
        assert all("previous_response_id" not in body for body in bodies)
        assert all(body["include"] == ["reasoning.encrypted_content"] for body in bodies)
    if chaining == "previous_response_id" and shape == "handoff":
        handed = bodies[1]  # the specialist's first request chains to the transfer's response
        kept = first == second or not first.startswith("o")
        assert ("previous_response_id" in handed) is kept
    plain = [b for b in bodies if not b["model"].startswith("o")]
    assert all(i.get("type") != "reasoning" for b in plain for i in b["input"])
