"""A workflow and two activities, small enough to prove the harness: a real worker, a real crash."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

TICK_SECONDS = 0.02
HEARTBEAT_TIMEOUT = timedelta(seconds=2)


@dataclass
class Ticks:
    """How many ticks to count, and the file where each attempt writes what it does."""

    journal: str
    ticks: int


def write(journal: Path, line: str) -> None:
    with journal.open("a") as file:
        file.write(f"{line}\n")


@activity.defn
async def greet(name: str) -> str:
    return f"Hello, {name}, from {os.getpid()}"


@activity.defn
async def tick(job: Ticks) -> int:
    """Count ticks, heartbeating the count, then write one effect; a retry resumes the count."""
    info = activity.info()
    resumed: int = info.heartbeat_details[0] if info.heartbeat_details else 0
    journal = Path(job.journal)
    write(journal, f"attempt {info.attempt} {os.getpid()} {resumed}")
    for count in range(resumed, job.ticks):
        await asyncio.sleep(TICK_SECONDS)
        write(journal, f"tick {count} {os.getpid()}")
        activity.heartbeat(count + 1)
    write(journal, f"effect {os.getpid()}")
    return os.getpid()


@workflow.defn
class Greet:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn
class CountTicks:
    @workflow.run
    async def run(self, job: Ticks) -> int:
        return await workflow.execute_activity(
            tick,
            job,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )


def make_worker(client: Client, task_queue: str) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[Greet, CountTicks],
        activities=[greet, tick],
        # A SIGKILLed worker's cached workflows wait this long before another worker takes them.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
    )
