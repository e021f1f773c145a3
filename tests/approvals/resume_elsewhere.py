"""Resume a paused run from its JSON in a fresh process, as a worker would hours later.

    python resume_elsewhere.py BASE_URL STATE_FILE MCP_URL CHAINING

The API key and the MCP token come from the environment (APPROVALS_API_KEY, APPROVALS_MCP_TOKEN),
as a deployment would keep them; prints one JSON line: the output, what ran, the final state.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import openai
from approval_tools import delete_file, deleted

from agentkit import Agent, RemoteMCP, RunState


async def main(base_url: str, saved: str, mcp_url: str, chaining: str) -> None:
    state = RunState.from_json(saved)
    for request in state.pending_approvals:
        state.approve(request.id)
    files = RemoteMCP(
        server_label="files",
        server_url=mcp_url,
        headers={"Authorization": os.environ["APPROVALS_MCP_TOKEN"]},
    )
    options = {"store": False} if chaining == "store-false" else {}
    key = os.environ["APPROVALS_API_KEY"]
    async with openai.AsyncOpenAI(base_url=base_url, api_key=key) as client:
        agent = Agent(model="gpt-4o", client=client, tools=[delete_file, files], **options)
        result = await agent.resume(state)
    report = {"output": result.output, "deleted": deleted, "state": result.state.to_json()}
    print(json.dumps(report))


if __name__ == "__main__":
    base_url, state_file, mcp_url, chaining = sys.argv[1:5]
    asyncio.run(main(base_url, Path(state_file).read_text(), mcp_url, chaining))
