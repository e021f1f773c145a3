"""One large request never stalls the others: its decoding, checks and storing run off the
event loop, so small creates and retrieves keep being answered while it is worked on (a real
`agentkit serve` process, so the test's own client never competes with the server for its GIL).

The small creates are not stored: SQLite has one writer, so a stored create waits while a large
write is in progress (a fraction of a second for this one). Retrieves read the store's memory,
which no write holds up."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import httpx2
from serve_process import Serve

MESSAGES = 100_000
"""A ~3.5 MB body: it used to hold the event loop for seconds (4.1 s in the report)."""
SMALL = {"model": "gpt-4o", "input": "hello there", "store": False}


async def small_round_seconds(client: httpx2.AsyncClient, stored_id: str) -> float:
    """A small create and a retrieve of a stored response, one after the other."""
    start = time.perf_counter()
    created = await client.post("/v1/responses", json=SMALL)
    assert created.status_code == 200, created.text
    retrieved = await client.get(f"/v1/responses/{stored_id}")
    assert retrieved.status_code == 200, retrieved.text
    return time.perf_counter() - start


async def creates_during_a_large_one(url: str) -> tuple[list[float], list[float], float]:
    """Small rounds' latencies before and while a large create runs, and the large one's."""
    large = json.dumps(
        {"model": "gpt-4o", "input": [{"role": "user", "content": "hi"}] * MESSAGES}
    ).encode()
    async with httpx2.AsyncClient(base_url=url, timeout=120) as client:
        stored = await client.post("/v1/responses", json={"model": "gpt-4o", "input": "keep"})
        stored_id = stored.json()["id"]
        baseline = [await small_round_seconds(client, stored_id) for _ in range(20)]
        started = time.perf_counter()
        running = asyncio.create_task(
            client.post(
                "/v1/responses", content=large, headers={"content-type": "application/json"}
            )
        )
        during: list[float] = []
        while not running.done():
            during.append(await small_round_seconds(client, stored_id))
        answer = await running
        assert answer.status_code == 200, answer.text[:300]
        assert answer.json()["usage"]["input_tokens"] == 5 * MESSAGES  # 4 framing + 1 text each
        return baseline, during, time.perf_counter() - started


def test_small_creates_stay_fast_while_a_large_request_is_worked_on(serve: Serve) -> None:
    running = serve("--db", ":memory:", "--log-level", "warning")
    baseline, during, large_seconds = asyncio.run(creates_during_a_large_one(running.url))
    typical = statistics.median(baseline)
    # Before: one small create in all that time, waiting as long as the large one took.
    assert len(during) >= 5, (during, large_seconds)
    assert max(during) < large_seconds / 3, (max(during), large_seconds)
    # Generous: the large request's thread still shares the GIL with the event loop.
    assert statistics.median(during) < max(25 * typical, 0.25), (during, typical)
