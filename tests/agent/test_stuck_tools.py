"""A sync tool that never returns: its timeout ends the call, and nothing waits for its thread.

Neither entry point (`run_sync`, `asyncio.run(agent.run(...))`) nor the interpreter's exit may
join the abandoned thread. The tool here blocks until the test releases it, so "the run ended
while the tool was still running" is checked directly, not inferred from a clock.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from local_clients import TLS

from agentkit import Agent, FunctionTool, tool
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Say

HOLD = 60.0
"""How long the stuck tool blocks unless released: a run that waits for it takes this long."""


class StuckTool:
    """A sync tool blocked on an event, recording whether it started and whether it returned."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.returned = threading.Event()
        self.release = threading.Event()

        @tool(name="wait_forever", timeout=0.2)
        def wait_forever() -> str:
            """Blocks until released."""
            self.started.set()
            self.release.wait(HOLD)
            self.returned.set()
            return "released"

        self.tool: FunctionTool = wait_forever


@pytest.fixture
def stuck() -> Iterator[StuckTool]:
    tool = StuckTool()
    yield tool
    tool.release.set()


def sync_client(server: LocalServer) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.base_url, api_key="k", http_client=openai.DefaultHttpxClient(verify=TLS)
    )


def via_run_sync(agent: Agent[Any]) -> Any:
    return agent.run_sync("go")


def via_asyncio_run(agent: Agent[Any]) -> Any:
    async def main() -> Any:
        async with agent:  # closes the client the agent made for this loop
            return await agent.run("go")

    return asyncio.run(main())


@pytest.mark.parametrize("entry", [via_run_sync, via_asyncio_run])
def test_a_timed_out_sync_tool_ends_the_run_without_waiting_for_its_thread(
    scripted: LocalServer, stuck: StuckTool, entry: Callable[[Agent[Any]], Any]
) -> None:
    scripted.scripted.queue(Call("wait_forever", "{}", call_id="call_1"), Say("Gave up."))
    with sync_client(scripted) as client:
        agent = Agent(model="gpt-4o", client=client, tools=[stuck.tool])
        started = time.monotonic()
        result = entry(agent)
        elapsed = time.monotonic() - started

    assert stuck.started.is_set()
    assert not stuck.returned.is_set(), "the run ended only once the tool's thread had"
    assert elapsed < HOLD / 2
    assert result.output == "Gave up."
    (output,) = scripted.requests[1]["input"]
    assert output == {
        "type": "function_call_output",
        "call_id": "call_1",
        "output": "Error: wait_forever timed out after 0.2 s",
    }


STUCK_SCRIPT = """
import threading
import openai
from agentkit import Agent, tool
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Say

@tool(timeout=0.2)
def wait_forever() -> str:
    \"\"\"Never returns.\"\"\"
    threading.Event().wait()
    return "never"

with LocalServer(engine="scripted") as server:
    server.scripted.queue(Call("wait_forever", "{}"), Say("Gave up."))
    with openai.OpenAI(base_url=server.base_url, api_key="k") as client:
        result = Agent(model="gpt-4o", client=client, tools=[wait_forever]).run_sync("go")
print(result.output, result.new_items[2]["output"])
"""


def test_the_interpreter_exits_while_a_stuck_tool_still_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", STUCK_SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Gave up. Error: wait_forever timed out after 0.2 s\n"
