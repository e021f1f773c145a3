"""Does a create cost more the deeper the `previous_response_id` chain it continues?

    .venv/bin/python bench/chain_depth.py [--depth 2500] [--shallow 10] [--samples 40]

One local server (a SQLite file, as `agentkit serve` uses) in this process; one chain of
`--depth` responses is built first. Then creates that continue the response at depth
`--shallow` and creates that continue the deepest one are timed, interleaved, over real HTTP;
the result is the ratio of their medians. Goal: deep / shallow <= 3 (near flat). Before the
chain was summed per stored response it was ~186x at depth 2,500.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx2

from agentkit.server import LocalServer

GOAL_RATIO = 3.0


def build_chain(client: httpx2.Client, depth: int) -> list[str]:
    ids: list[str] = []
    for turn in range(depth):
        body: dict[str, object] = {"model": "gpt-4o", "input": f"turn {turn} of a long chat"}
        if ids:
            body["previous_response_id"] = ids[-1]
        answer = client.post("/responses", json=body)
        answer.raise_for_status()
        ids.append(answer.json()["id"])
    return ids


def create_ms(client: httpx2.Client, previous: str) -> float:
    body = {"model": "gpt-4o", "input": "and one more", "previous_response_id": previous}
    start = time.perf_counter()
    client.post("/responses", json=body).raise_for_status()
    return 1000 * (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--depth", type=int, default=2500)
    parser.add_argument("--shallow", type=int, default=10)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalServer(db=str(Path(tmp) / "chain.db")) as server,
        httpx2.Client(base_url=server.base_url, timeout=60) as client,
    ):
        started = time.perf_counter()
        ids = build_chain(client, args.depth)
        built = time.perf_counter() - started
        shallow: list[float] = []
        deep: list[float] = []
        for _ in range(args.samples):
            shallow.append(create_ms(client, ids[args.shallow - 1]))
            deep.append(create_ms(client, ids[-1]))
    low, high = statistics.median(shallow), statistics.median(deep)
    ratio = high / low
    print(f"chain of {args.depth} built in {built:.1f} s")
    print(f"create continuing depth {args.shallow:>5}: median {low:7.2f} ms")
    print(f"create continuing depth {args.depth:>5}: median {high:7.2f} ms")
    verdict = "met" if ratio <= GOAL_RATIO else "NOT met"
    print(f"ratio {ratio:.2f} (goal <= {GOAL_RATIO:g}) -> {verdict}")


if __name__ == "__main__":
    main()
