"""Agents on Temporal: 100 concurrent agent workflows over 2 worker processes vs plain `Agent.run`.

Not a test. Run: `.venv/bin/python bench/temporal.py [--runs 100] [--rounds 3]`.

Each run is the same 2-turn tool loop (a model call, a tool call, a model call) against
`agentkit serve` (auto engine, its own process). Three ways, `RUNS` runs at once each:

- plain: `Agent.run` in this process;
- AgentWorkflow: a conversation per run (`ConversationClient.send`, then `end`) on the ready
  workflow, which runs outside Temporal's sandbox;
- own workflow: a user's sandboxed workflow around one `TemporalAgent.run`.

Both Temporal ways run on 2 worker processes against a Temporal dev server (its own process).
Measured per round: the wall time of the batch, and CPU time (user + system, from /proc: Linux
only) of the processes doing agent work — this process for plain runs; the 2 workers plus this
process (the starter) for Temporal — per model turn, as a ratio to plain. The Temporal server's
and the model server's CPU are reported beside, not in the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from agentkit.temporal import AgentkitPlugin, ConversationClient

with workflow.unsafe.imports_passed_through():
    from _forecaster import agent, forecaster

PROMPT = "What is the weather in Paris?"
TURNS_PER_RUN = 2
QUEUE = "bench"


@workflow.defn
class Forecast:
    """A workflow of the user's own, in the sandbox, around one run."""

    @workflow.run
    async def run(self, prompt: str) -> str:
        return (await forecaster.run(prompt)).output


# --- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spawn(*command: str, ready: str | None = None) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    if ready is not None:
        assert process.stdout is not None
        said = []
        for line in process.stdout:
            if ready in line:
                break
            said.append(line)
        else:
            raise RuntimeError(f"{command[0]} exited before {ready!r}: {''.join(said)[-2000:]}")
    return process


def stop(process: subprocess.Popen[str]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def reachable(address: str) -> Client:
    for _ in range(300):
        try:
            return await Client.connect(address, plugins=[AgentkitPlugin()])
        except RuntimeError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"no Temporal at {address}")


# --- the three ways ------------------------------------------------------------------------------


@dataclass
class Round:
    wall: float
    cpu: float
    temporal_cpu: float
    model_cpu: float


Batch = Callable[[int], Awaitable[list[str]]]


async def measure(batch: Batch, runs: int, pids: dict[str, int], *, on_temporal: bool) -> Round:
    """Run a batch; its wall time and the CPU each kind of process spent on it."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.perf_counter()
    outputs = await batch(runs)
    wall = time.perf_counter() - started
    assert len(outputs) == runs and all("get_weather returned" in o for o in outputs), outputs[:1]
    spent = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    agent_side = spent["starter"] + (spent["worker0"] + spent["worker1"] if on_temporal else 0)
    return Round(wall, agent_side, spent["temporal"], spent["model"])


async def plain(runs: int) -> list[str]:
    return [r.output for r in await asyncio.gather(*(agent.run(PROMPT) for _ in range(runs)))]


def conversations(client: Client) -> Batch:
    chats = ConversationClient(client, agent="forecaster", task_queue=QUEUE)

    async def one() -> str:
        chat = f"chat-{uuid.uuid4().hex}"
        answer = await chats.send(chat, PROMPT)
        await chats.end(chat)
        return str(answer.output)

    async def batch(runs: int) -> list[str]:
        return list(await asyncio.gather(*(one() for _ in range(runs))))

    return batch


def own_workflows(client: Client) -> Batch:
    async def batch(runs: int) -> list[str]:
        started = (
            client.execute_workflow(
                Forecast.run, PROMPT, id=f"bench-{uuid.uuid4().hex}", task_queue=QUEUE
            )
            for _ in range(runs)
        )
        return list(await asyncio.gather(*started))

    return batch


# --- main ----------------------------------------------------------------------------------------


async def worker_main(address: str) -> None:
    client = await Client.connect(address, plugins=[AgentkitPlugin([forecaster])])
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    async with Worker(
        client, task_queue=QUEUE, workflows=[Forecast], max_concurrent_activities=200
    ):
        print("worker polling", flush=True)
        await stopping.wait()


async def bench(runs: int, rounds: int, script: str) -> None:
    model_port, temporal_port = free_port(), free_port()
    model = spawn(sys.executable, "-m", "agentkit.cli", "serve", "--port", str(model_port),
                  "--db", ":memory:", ready="Responses API at")  # fmt: skip
    cli = Path(sysconfig.get_path("scripts")) / "temporal"
    temporal = spawn(str(cli), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
                     "--port", str(temporal_port), "--log-level", "error")  # fmt: skip
    os.environ["AGENTKIT_BASE_URL"] = f"http://127.0.0.1:{model_port}/v1"
    address = f"127.0.0.1:{temporal_port}"
    workers: list[subprocess.Popen[str]] = []
    try:
        client = await reachable(address)
        workers = [
            spawn(sys.executable, script, "--worker", address, ready="polling") for _ in "ab"
        ]
        pids = {"starter": os.getpid(), "temporal": temporal.pid, "model": model.pid}
        pids.update({f"worker{n}": w.pid for n, w in enumerate(workers)})
        ways: dict[str, tuple[Batch, bool]] = {
            "plain Agent.run": (plain, False),
            "AgentWorkflow": (conversations(client), True),
            "own workflow": (own_workflows(client), True),
        }
        for batch, on_temporal in ways.values():  # warm up: connections, caches, sandbox
            await measure(batch, 10, pids, on_temporal=on_temporal)
        results: dict[str, list[Round]] = {name: [] for name in ways}
        for _ in range(rounds):
            for name, (batch, on_temporal) in ways.items():
                results[name].append(await measure(batch, runs, pids, on_temporal=on_temporal))
        report(runs, results)
    finally:
        for process in [*workers, temporal, model]:
            stop(process)


def report(runs: int, results: dict[str, list[Round]]) -> None:
    turns = runs * TURNS_PER_RUN
    base = results["plain Agent.run"]
    print(
        f"{runs} concurrent runs of a 2-turn tool loop ({turns} model turns); Temporal: 2 workers"
    )
    print("medians over rounds; ratios against plain runs of the same round\n")
    print("| way | wall | wall ratio | agent-side CPU per turn | CPU ratio "
          "| Temporal server CPU per turn | model server CPU per turn |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, rounds in results.items():
        walls = [r.wall / b.wall for r, b in zip(rounds, base, strict=True)]
        cpus = [r.cpu / b.cpu for r, b in zip(rounds, base, strict=True)]

        def ms(values: list[float]) -> str:
            return f"{1000 * statistics.median(values) / turns:.1f} ms"

        print(
            f"| {name} | {statistics.median(r.wall for r in rounds):.2f} s "
            f"| {statistics.median(walls):.1f} | {ms([r.cpu for r in rounds])} "
            f"| {statistics.median(cpus):.1f} | {ms([r.temporal_cpu for r in rounds])} "
            f"| {ms([r.model_cpu for r in rounds])} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", metavar="ADDRESS")
    options = parser.parse_args()
    if options.worker:
        asyncio.run(worker_main(options.worker))
    else:
        asyncio.run(bench(options.runs, options.rounds, os.path.abspath(__file__)))
