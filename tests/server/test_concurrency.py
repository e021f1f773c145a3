"""Many clients at once against one server: streams stay whole and separate, stores all land."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI

from agentkit.server import LocalServer

CLIENTS = 50
BUDGET_SECONDS = 20
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


@pytest.fixture
def stored(tmp_path: Path) -> Iterator[LocalServer]:
    """A server on a database file, so the test can read what was committed."""
    with LocalServer(db=str(tmp_path / "server.db")) as running:
        yield running


def prompt(index: int) -> str:
    """A different input per client: odd clients ask for a tool, even ones for text."""
    if index % 2:
        return f"What is the weather in Town{index} today?"
    return f"client {index} sends a message long enough to be streamed in many small deltas"


async def stream_one(client: AsyncOpenAI, index: int) -> list[Any]:
    stream = await client.responses.create(
        model="gpt-4o", input=prompt(index), tools=[WEATHER], stream=True
    )
    return [event async for event in stream]


def check_stream(index: int, events: list[Any]) -> str:
    """Assert that one stream is complete, in order and about its own request; return its id."""
    assert [e.sequence_number for e in events] == list(range(len(events)))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    response_ids = {e.response.id for e in events if hasattr(e, "response")}
    final = events[-1].response
    assert response_ids == {final.id}
    [item] = final.output
    assert {e.item.id for e in events if hasattr(e, "item")} == {item.id}
    assert {e.item_id for e in events if hasattr(e, "item_id")} == {item.id}
    if index % 2:
        arguments = "".join(
            e.delta for e in events if e.type == "response.function_call_arguments.delta"
        )
        assert arguments == item.arguments
        assert json.loads(arguments) == {"city": f"Town{index}"}
    else:
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert text == final.output_text == f'You said: "{prompt(index)}".'
    return str(final.id)


async def test_fifty_concurrent_streams_are_complete_and_not_interleaved(
    server: LocalServer,
) -> None:
    started = time.monotonic()
    async with AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0) as client:
        results = await asyncio.wait_for(
            asyncio.gather(*(stream_one(client, i) for i in range(CLIENTS))), BUDGET_SECONDS
        )
    ids = [check_stream(index, events) for index, events in enumerate(results)]
    assert len(set(ids)) == CLIENTS
    assert time.monotonic() - started < BUDGET_SECONDS


async def test_concurrent_stored_creates_all_land_in_the_database(stored: LocalServer) -> None:
    started = time.monotonic()
    async with AsyncOpenAI(base_url=stored.base_url, api_key="test", max_retries=0) as client:
        responses = await asyncio.wait_for(
            asyncio.gather(
                *(
                    client.responses.create(model="gpt-4o", input=f"message {i}", store=True)
                    for i in range(CLIENTS)
                )
            ),
            BUDGET_SECONDS,
        )
        texts = [r.output_text for r in responses]
        assert texts == [f'You said: "message {i}".' for i in range(CLIENTS)]
        retrieved = await asyncio.gather(*(client.responses.retrieve(r.id) for r in responses))
        assert [r.output_text for r in retrieved] == texts

    db = sqlite3.connect(stored.config.db)
    try:
        rows = dict(db.execute("SELECT id, body FROM responses").fetchall())
        item_count = db.execute("SELECT count(*) FROM items").fetchone()[0]
    finally:
        db.close()
    assert sorted(rows) == sorted(r.id for r in responses)
    for response in responses:
        body = json.loads(rows[response.id])
        assert body["output"][0]["content"][0]["text"] == response.output_text
    assert item_count == 2 * CLIENTS  # each response: one input message, one output message
    assert time.monotonic() - started < BUDGET_SECONDS
