"""MCP servers of your own: an agent using the tools of `mcp-server-time`, run over stdio.

agentkit starts the server as a child process, lists its tools and offers them to the model as
function tools. Inside `async with agent:` every run shares one connection (one process);
without the block each run connects and closes on its own.

Run it: `python examples/mcp_local.py` (needs `pip install mcp-server-time`)
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from _local import local_server_if_needed

from agentkit import Agent, MCPServerStdio

time_server = MCPServerStdio(
    sys.executable,  # this interpreter, so the server comes from the same environment
    args=["-m", "mcp_server_time"],
    allowed_tools=["get_current_time"],  # it also has `convert_time`
    timeout=10.0,  # seconds a call may take before the model is told it timed out
)

agent = Agent(
    model="gpt-4o",  # on Azure: your deployment's name
    instructions="Answer questions about time with the tools.",
    tools=[time_server],
)


async def ask(question: str) -> None:
    """Run the agent on one question and show the tool calls it made."""
    print("user:", question)
    result = await agent.run(question)
    for item in result.new_items:
        if item["type"] == "function_call":
            print(f"  tool call: {item['name']}({item['arguments']})")
    print("assistant:", result.output)


def server_processes() -> list[int]:
    """The time servers this process has started and that are still running (Linux, macOS)."""
    found = subprocess.run(
        ["pgrep", "-P", str(os.getpid()), "-f", "mcp_server_time"],
        capture_output=True,
        text=True,
        check=False,
    )
    return [int(pid) for pid in found.stdout.split()]


async def main() -> None:
    async with agent:  # connects (starts the server) once, for every run in the block
        await ask('What is the current time in "Europe/Paris"?')
        running = server_processes()
        await ask('And the current time in "Asia/Tokyo"?')
        same = server_processes() == running
        print(f"server processes in the block: {len(running)}, the same for both runs: {same}")
    # The block has ended: the session is closed and the process has exited.
    print("server processes after the block:", len(server_processes()))


if __name__ == "__main__":
    with local_server_if_needed():
        asyncio.run(main())
