"""A run that survives a crash: its process is SIGKILLed mid-run and another one finishes it.

The run books a flight and a hotel. Its state is checkpointed after every step in a SQLite
file; a child process starts the run and is killed (a real SIGKILL) while the hotel is being
booked; this process then resumes the run from the file. The flight, booked before the crash,
is not booked again; the hotel booking, cut off half way, runs again with the same
idempotency key, which the booking "API" below uses to recognise a repeat.

Run it: `python examples/crash_resume.py`
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _local import local_server_if_needed

from agentkit import Agent, RunContext, tool
from agentkit.checkpoints import SQLiteCheckpoints

RUN_ID = "trip-42"


def ledger() -> Path:
    return Path(os.environ["TRIP_FOLDER"]) / "bookings.txt"


def book(what: str, key: str) -> str:
    """A booking API that honours idempotency keys: one booking per key."""
    booked = ledger().read_text().splitlines() if ledger().exists() else []
    if any(line.endswith(key) for line in booked):
        return f"{what} was already booked"
    with ledger().open("a") as file:
        file.write(f"{what} booked, key {key}\n")
    return f"{what} booked"


@tool
def book_flight(ctx: RunContext[None], city: str) -> str:
    """Book a flight to a city."""
    return book(f"flight to {city}", ctx.idempotency_key)


@tool
def book_hotel(ctx: RunContext[None], nights: int) -> str:
    """Book the hotel for a number of nights."""
    (Path(os.environ["TRIP_FOLDER"]) / "hotel-started").touch()
    if os.environ.get("TRIP_CRASH"):
        time.sleep(60)  # the parent kills us here
    return book(f"hotel for {nights} nights", ctx.idempotency_key)


agent = Agent(model="gpt-4o", tools=[book_flight, book_hotel], tool_concurrency=1)


def checkpoints() -> SQLiteCheckpoints:
    return SQLiteCheckpoints(Path(os.environ["TRIP_FOLDER"]) / "runs.db")


async def start() -> None:
    """The child process: start the run (it is killed before it ends)."""
    async with agent:
        await agent.run(
            "Book a flight to Lisbon and the hotel for 3 nights.",
            run_id=RUN_ID,
            checkpoints=checkpoints(),
        )


async def resume() -> None:
    async with agent:
        result = await agent.resume(RUN_ID, checkpoints=checkpoints())
    print(f"resumed run {RUN_ID}: {result.output}")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        os.environ["TRIP_FOLDER"] = folder
        child = subprocess.Popen(
            [sys.executable, __file__, "--child"], env={**os.environ, "TRIP_CRASH": "1"}
        )
        while not (Path(folder) / "hotel-started").exists() and child.poll() is None:
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait()
        print(f"killed the run's process (exit {child.returncode}) while it booked the hotel")
        print("bookings so far:", *ledger().read_text().splitlines(), sep="\n  ")
        asyncio.run(resume())
        print("bookings now:", *ledger().read_text().splitlines(), sep="\n  ")


if __name__ == "__main__":
    if "--child" in sys.argv:
        asyncio.run(start())
    else:
        with local_server_if_needed():
            main()
