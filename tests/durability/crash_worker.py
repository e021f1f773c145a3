"""A process that runs (or resumes) a checkpointed agent run, for tests that SIGKILL it.

    python crash_worker.py run|resume BASE_URL CHECKPOINTS_DB EFFECTS_FILE RUN_ID [--background]
        [--sub-run]

With `--sub-run`, the agent with the tools is used as a tool (`helper`) by the agent run.

Its tools append one line per effect to EFFECTS_FILE, keyed by the call's idempotency key;
`slow` first writes a "started" marker and, when CRASH_HOLD is set, waits to be killed. The
run's answer is printed as JSON on the last line.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from agentkit import Agent, RunContext, tool
from agentkit.checkpoints import SQLiteCheckpoints


def effects_file() -> Path:
    return Path(os.environ["EFFECTS_FILE"])


def _apply(tag: str, key: str) -> str:
    """Append the effect once per idempotency key (a tool that deduplicates its side effect)."""
    path = effects_file()
    done = path.read_text().splitlines() if path.exists() else []
    if f"{tag} {key}" in done:
        return f"{tag} was already recorded"
    with path.open("a") as file:
        file.write(f"{tag} {key}\n")
    return f"recorded {tag}"


@tool
def record(ctx: RunContext[None], tag: str) -> str:
    """Record a tag."""
    return _apply(tag, ctx.idempotency_key)


@tool
def slow(ctx: RunContext[None], tag: str) -> str:
    """Record a tag, slowly."""
    with effects_file().open("a") as file:
        file.write(f"started {tag} {ctx.idempotency_key}\n")
    if os.environ.get("CRASH_HOLD"):
        time.sleep(600)
    return _apply(tag, ctx.idempotency_key)


async def main(mode: str, base_url: str, db: str, run_id: str, background: bool, sub: bool) -> None:
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="k")
    agent = Agent(
        model="gpt-4o",
        client=client,
        tools=[record, slow],
        tool_concurrency=1,
        background=background,
    )
    if sub:  # the same agent, used as a tool by another: the crash happens in its sub-run
        agent = Agent(model="gpt-4o", client=client, tools=[agent.clone(name="helper").as_tool()])
    checkpoints = SQLiteCheckpoints(db)
    if mode == "run":
        result = await agent.run("go", run_id=run_id, checkpoints=checkpoints)
    else:
        result = await agent.resume(run_id, checkpoints=checkpoints)
    print(json.dumps({"output": result.output, "turns": result.state.turn}), flush=True)


if __name__ == "__main__":
    mode, base_url, db, effects, run_id = sys.argv[1:6]
    os.environ["EFFECTS_FILE"] = effects
    asyncio.run(
        main(mode, base_url, db, run_id, "--background" in sys.argv, "--sub-run" in sys.argv)
    )
