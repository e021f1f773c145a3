"""How fast is the local server, next to a bare Starlette JSON endpoint on the same machine?

    .venv/bin/python bench/server.py [--seconds 5] [--rounds 5] [--workers 8]

Both servers run under uvicorn in their own subprocess on 127.0.0.1, agentkit's logging as
`agentkit serve` does by default (an access line per request at INFO, here to a file); one
`httpx2` keep-alive client drives them with N concurrent workers. Measured:

- non-streamed `POST /v1/responses` per second, with `store` on and off, against the bare
  endpoint's rate (it parses the same JSON body and answers a canned body of a response's size);
- the server process's CPU time per request (from /proc), whose inverse is the rate the server
  could sustain: on a small machine the one client process may be the bottleneck of the rates;
- time to the first streamed event (`response.created`), one request at a time, against the
  bare endpoint's time to its first SSE event.

The measures are interleaved over several rounds (each result is the median of its rounds) so a
change in the machine's load affects them alike. Runs in about 30 s. Results: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]
PROMPT = "Hello! Could you tell me what the weather is like in Lisbon today?"
STARTUP_SECONDS = 30
WARM_UP_SECONDS = 0.2
TTFE_REQUESTS = 150
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# --- the servers (each runs in its own process: `bench/server.py --serve KIND`) -----------------


def bare_app(canned: dict[str, Any]) -> Any:
    """The baseline: parse the JSON body, answer a canned JSON body (or one SSE event)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    event = {"type": "response.created", "sequence_number": 0, "response": canned}
    created = f"event: response.created\ndata: {json.dumps(event)}\n\n".encode()

    async def respond(request: Request) -> Response:
        body = await request.json()
        if body.get("stream"):

            async def events() -> AsyncIterator[bytes]:
                yield created

            return StreamingResponse(events(), media_type="text/event-stream")
        return JSONResponse(canned)

    return Starlette(routes=[Route("/v1/responses", respond, methods=["POST"])])


def serve(kind: str, port: int, db: str, canned_path: str | None) -> None:
    import uvicorn

    if kind == "bare":
        assert canned_path is not None
        app = bare_app(json.loads(Path(canned_path).read_text()))
        uvicorn.run(app, host=HOST, port=port, log_level="warning", access_log=False)
        return
    from agentkit.cli import configure_logging
    from agentkit.server import ServerConfig, create_app

    # As `agentkit serve` runs by default: an access line per request at INFO (to stderr,
    # which the driver sends to a file).
    configure_logging("info")
    app = create_app(ServerConfig(db=db))
    uvicorn.run(app, host=HOST, port=port, log_level="info", log_config=None, access_log=False)


# --- the driver ----------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (0 where /proc is missing)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / TICKS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server_process(log: str, *args: str) -> Iterator[Server]:
    """Start `bench/server.py --serve ...` (its stderr to `log`), yield it once it listens."""
    port = free_port()
    command = [sys.executable, __file__, "--serve", *args, "--port", str(port)]
    with open(log, "w") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, stderr=stderr)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(args)} server exited with {process.returncode}")
            try:
                socket.create_connection((HOST, port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield Server(f"http://{HOST}:{port}", process.pid)
    finally:
        process.terminate()
        process.wait(15)


@dataclass
class Run:
    requests: int
    seconds: float
    server_cpu: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms(self) -> float:
        """Server CPU milliseconds per request."""
        return 1000 * self.server_cpu / self.requests


async def throughput(server: Server, body: dict[str, Any], workers: int, seconds: float) -> Run:
    """Requests per second from `workers` concurrent keep-alive connections (after a warm-up)."""
    payload = json.dumps(body).encode()
    headers = {"content-type": "application/json", "authorization": "Bearer bench"}
    limits = httpx2.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx2.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:

        async def worker(until: float) -> int:
            done = 0
            while time.perf_counter() < until:
                answer = await client.post("/v1/responses", content=payload, headers=headers)
                if answer.status_code != 200:
                    raise RuntimeError(f"{server.url}: {answer.status_code} {answer.text[:200]}")
                done += 1
            return done

        warm_until = time.perf_counter() + WARM_UP_SECONDS
        await asyncio.gather(*(worker(warm_until) for _ in range(workers)))
        cpu = server.cpu_seconds()
        start = time.perf_counter()
        counts = await asyncio.gather(*(worker(start + seconds) for _ in range(workers)))
        elapsed = time.perf_counter() - start
        return Run(sum(counts), elapsed, server.cpu_seconds() - cpu)


async def first_event_ms(server: Server, body: dict[str, Any], count: int) -> list[float]:
    """Milliseconds from sending a streamed create to receiving its first SSE event."""
    payload = json.dumps({**body, "stream": True}).encode()
    headers = {"content-type": "application/json", "authorization": "Bearer bench"}
    timings: list[float] = []
    async with httpx2.AsyncClient(base_url=server.url, timeout=30) as client:
        for index in range(count + 5):
            start = time.perf_counter()
            elapsed = 0.0
            async with client.stream(
                "POST", "/v1/responses", content=payload, headers=headers
            ) as answer:
                async for chunk in answer.aiter_bytes():
                    if not elapsed and b"\n\n" in chunk:
                        elapsed = time.perf_counter() - start
            if index >= 5:  # the first five warm up
                timings.append(elapsed * 1000)
    return timings


async def measure(workers: int, seconds: float, rounds: int) -> dict[str, float]:
    request = {"model": "gpt-4o", "input": PROMPT}
    runs: dict[str, list[Run]] = {"bare": [], "store on": [], "store off": []}
    firsts: dict[str, list[float]] = {"bare": [], "agentkit": []}
    with (
        tempfile.TemporaryDirectory() as tmp,
        server_process(
            os.path.join(tmp, "agentkit.log"), "agentkit", "--db", os.path.join(tmp, "bench.db")
        ) as agentkit,
    ):
        async with httpx2.AsyncClient(base_url=agentkit.url) as client:
            sample = (await client.post("/v1/responses", json=request)).json()
        canned = os.path.join(tmp, "canned.json")
        with open(canned, "w") as file:  # noqa: ASYNC230 (a small file, before any timing)
            json.dump(sample, file)
        with server_process(os.path.join(tmp, "bare.log"), "bare", "--canned", canned) as bare:
            plans: dict[str, tuple[Server, dict[str, Any]]] = {
                "bare": (bare, request),
                "store on": (agentkit, {**request, "store": True}),
                "store off": (agentkit, {**request, "store": False}),
            }
            for _ in range(rounds):
                for name, (server, body) in plans.items():
                    runs[name].append(await throughput(server, body, workers, seconds / rounds))
                for name, server in (("bare", bare), ("agentkit", agentkit)):
                    firsts[name] += await first_event_ms(server, request, TTFE_REQUESTS // rounds)
    results: dict[str, float] = {}
    for name, measured in runs.items():
        results[f"{name} rate"] = statistics.median(run.per_second for run in measured)
        results[f"{name} cpu ms"] = statistics.median(run.cpu_ms for run in measured)
    results["agentkit first ms"] = statistics.median(firsts["agentkit"])
    results["bare first ms"] = statistics.median(firsts["bare"])
    results["response bytes"] = len(json.dumps(sample))
    return results


def report(results: dict[str, float], workers: int, seconds: float, rounds: int) -> str:
    def row(label: str, ours: float, bare: float, ratio: float, digits: int) -> str:
        return f"{label:<40}{ours:>10.{digits}f}{bare:>10.{digits}f}{ratio:>9.2f}"

    bare_rate, bare_cpu = results["bare rate"], results["bare cpu ms"]
    capacity = bare_cpu / results["store on cpu ms"]
    lines = [
        f"agentkit local server vs a bare Starlette JSON endpoint: {workers} workers, "
        f"{seconds:g} s per rate in {rounds} rounds, {os.cpu_count()} cores, "
        f"{results['response bytes']:.0f}-byte response",
        "",
        f"{'measure':<40}{'agentkit':>10}{'bare':>10}{'ratio':>9}",
    ]
    for mode in ("store on", "store off"):
        rate, cpu = results[f"{mode} rate"], results[f"{mode} cpu ms"]
        lines.append(row(f"creates/s, {mode}", rate, bare_rate, rate / bare_rate, 0))
        lines.append(row(f"server CPU ms per create, {mode}", cpu, bare_cpu, bare_cpu / cpu, 3))
    ours, theirs = results["agentkit first ms"], results["bare first ms"]
    lines += [
        row("first streamed event, median ms", ours, theirs, theirs / ours, 2),
        "",
        "ratios: agentkit's rate / bare rate; bare CPU / agentkit CPU (the share of the bare",
        "endpoint's capacity); bare latency / agentkit latency.",
        f"goal: store-on creates >= 25 % of bare: measured rate "
        f"{100 * results['store on rate'] / bare_rate:.0f} %, server capacity "
        f"{100 * capacity:.0f} % -> {'met' if min(capacity, results['store on rate'] / bare_rate) >= 0.25 else 'NOT met'}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per rate")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per measure")
    parser.add_argument("--workers", type=int, default=8, help="concurrent connections")
    parser.add_argument("--serve", choices=("agentkit", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", default=":memory:", help=argparse.SUPPRESS)
    parser.add_argument("--canned", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.db, args.canned)
        return
    started = time.perf_counter()
    results = asyncio.run(measure(args.workers, args.seconds, args.rounds))
    print(report(results, args.workers, args.seconds, args.rounds))
    print(f"\n(total {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
