"""How soon does a streamed response's first event arrive, as a share of the whole response?

    .venv/bin/python bench/streaming.py [--rounds 5]

A scripted local server (in this process, on 127.0.0.1) streams two responses, each created
both as a plain stream and as a background stream (`background: true, stream: true`):

- a 20 kB answer (one message of ~3,400 word-sized deltas);
- a code interpreter cell that runs for 2 s (`time.sleep(2)`), then a short answer.

For each, one raw `httpx2` client measures the time from sending the request to the first SSE
event (`response.created`) and to the terminal event; the ratio of the two is the result (goal
≤ 0.05: the first event must not wait for the answer's length or a tool's run time). Each is
the median of its rounds. Results: docs/performance.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import httpx2

from agentkit.server import LocalServer
from agentkit.server.plan import Hosted, Planned, Say

ANSWER = " ".join(f"w{n:04d}" for n in range(3400))  # 20 kB
CELL = "import time\ntime.sleep(2)\nprint('slept')"
GOAL = 0.05
CASES: dict[str, tuple[list[Planned], list[dict[str, Any]]]] = {
    "20 kB answer": ([Say(ANSWER)], []),
    "2 s code interpreter cell": (
        [Hosted("code_interpreter", options={"code": CELL}), Say("Done.")],
        [{"type": "code_interpreter", "container": {"type": "auto"}}],
    ),
}


def measure(http: httpx2.Client, body: dict[str, Any]) -> tuple[float, float]:
    """Seconds to the first event and to the end of the stream."""
    started = time.perf_counter()
    first = None
    with http.stream("POST", "/responses", json=body) as response:
        for chunk in response.iter_raw():
            if first is None and b"\n\n" in chunk:
                first = time.perf_counter() - started
    total = time.perf_counter() - started
    assert first is not None
    return first, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with (
        LocalServer(engine="scripted") as server,
        httpx2.Client(base_url=server.base_url, timeout=60) as http,
    ):
        print(f"{'response':28} {'mode':11} {'first event':>12} {'total':>9} {'ratio':>7}")
        for name, (steps, tools) in CASES.items():
            for background in (False, True):
                firsts, totals = [], []
                for _ in range(args.rounds):
                    server.scripted.queue(steps)
                    body = {"model": "gpt-4o", "input": "Go", "stream": True, "tools": tools}
                    first, total = measure(http, {**body, "background": background})
                    firsts.append(first)
                    totals.append(total)
                first, total = statistics.median(firsts), statistics.median(totals)
                mode = "background" if background else "stream"
                verdict = "ok" if first / total <= GOAL else "ABOVE GOAL"
                print(
                    f"{name:28} {mode:11} {first * 1000:9.1f} ms {total:7.3f} s "
                    f"{first / total:7.4f} {verdict}"
                )


if __name__ == "__main__":
    main()
