"""A separate process for the orchestration tests: it resumes a paused run from its JSON, or
runs (and resumes) a checkpointed triage run that a test SIGKILLs.

    python worker.py resume-research BASE_URL STATE_FILE      # approve all, resume, print JSON
    python worker.py triage BASE_URL CHECKPOINTS_DB RUN_ID     # run (approving refunds)
    python worker.py resume-triage BASE_URL CHECKPOINTS_DB RUN_ID
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import openai

from agentkit import RunState, approve
from agentkit.checkpoints import SQLiteCheckpoints

sys.path.insert(0, str(Path(__file__).parent))
from research import research_team
from team import triage_team


async def resume_research(client: openai.AsyncOpenAI, saved: str) -> None:
    state = RunState.from_json(saved)
    for request in state.pending_approvals:
        state.approve(request.id)
    result = await research_team(client).resume(state)
    report = {
        "output": result.output,
        "usage": result.usage.to_dict(),
        "status": result.state.status,
    }
    print(json.dumps(report))


async def triage(client: openai.AsyncOpenAI, db: str, run_id: str, resume: bool) -> None:
    team = triage_team(client, approval=lambda request: approve())
    store = SQLiteCheckpoints(db)
    if resume:
        result = await team.resume(run_id, checkpoints=store)
    else:
        result = await team.run(
            "refunds please: refund payment of order 42", run_id=run_id, checkpoints=store
        )
    print(json.dumps({"agent": result.agent, "output": result.output}))


async def main(mode: str, base_url: str, *args: str) -> None:
    async with openai.AsyncOpenAI(base_url=base_url, api_key="k") as client:
        if mode == "resume-research":
            await resume_research(client, args[0])
        else:
            await triage(client, args[0], args[1], resume=mode == "resume-triage")


if __name__ == "__main__":
    mode, base_url, *rest = sys.argv[1:]
    if mode == "resume-research":
        rest = [Path(rest[0]).read_text()]  # the saved state, read before the loop starts
    asyncio.run(main(mode, base_url, *rest))
