"""Agents as tools over the real wire: their own conversations and models, in parallel, usage
added up, errors as tool outputs, and approvals that pause the calling run in one RunState that
resumes in another process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from agentkit import Agent, RunState, approve, tool
from agentkit.checkpoints import MemoryCheckpoints
from agentkit.server import LocalServer

from .research import ARRIVALS, research_team

WORKER = Path(__file__).with_name("worker.py")
QUESTION = 'Ask papers "search papers on Lithium" and market "search reports on Cobalt".'
BUY = 'Ask market "buy report on Cobalt", then summarise.'


@pytest.fixture
def meeting() -> Iterator[None]:
    """The sub-runs' tools wait for each other: the test fails unless both run at once."""
    ARRIVALS["barrier"] = asyncio.Barrier(2)
    yield
    ARRIVALS.clear()


async def test_sub_agents_run_in_parallel_with_their_own_conversations(
    server: LocalServer, client: openai.AsyncOpenAI, meeting: None
) -> None:
    result = await research_team(client).run(QUESTION)

    assert result.output == (
        "Here is what the tools returned: papers returned Here is what the tools returned: "
        "search_papers returned 3 papers on Lithium.; market returned Here is what the tools "
        "returned: search_reports returned 2 reports on Cobalt.."
    )
    by_model: dict[str, list[dict[str, Any]]] = {}
    for body in server.requests:
        by_model.setdefault(body["model"], []).append(body)
    assert sorted(by_model) == ["gpt-4o", "gpt-4o-mini", "o4-mini"]
    papers_first = by_model["o4-mini"][0]
    assert papers_first["instructions"] == "Find papers."
    assert papers_first["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "search papers on Lithium"}],
        }
    ]
    assert [t["name"] for t in by_model["gpt-4o"][0]["tools"]] == ["papers", "market"]
    # the sub-runs' model calls count in the lead's usage: 2 for the lead, 2 for each sub-run
    assert result.usage.requests == 6 == len(server.requests)
    assert result.usage.reasoning_tokens > 0  # only o4-mini (a sub-run) reasons


async def test_a_typed_input_is_sent_as_json(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    class Query(BaseModel):
        topic: str
        years: int

    helper = Agent(name="helper", model="gpt-4o-mini", client=client)
    lead = Agent(
        name="lead",
        model="gpt-4o",
        client=client,
        tools=[helper.as_tool(name="ask_helper", description="Ask it.", input_type=Query)],
    )
    await lead.run('ask helper about "Nickel" over 5 years')
    tool_param = server.requests[0]["tools"][0]
    assert (tool_param["name"], tool_param["description"]) == ("ask_helper", "Ask it.")
    assert tool_param["parameters"]["required"] == ["topic", "years"]
    sent = server.requests[1]["input"][0]["content"][0]["text"]
    assert json.loads(sent) == {"topic": "Nickel", "years": 5}


async def test_a_failing_sub_run_is_a_tool_error_output(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    @tool
    def search_papers(topic: str) -> str:
        """Search papers."""
        return "more"

    looping = Agent(
        name="papers", model="gpt-4o-mini", client=client, tools=[search_papers], max_turns=1
    )
    lead = Agent(name="lead", model="gpt-4o", client=client, tools=[looping.as_tool()])
    result = await lead.run('ask papers "search papers on Zinc"')

    (output,) = [i["output"] for i in result.new_items if i["type"] == "function_call_output"]
    assert output.startswith("Error: papers raised MaxTurnsExceeded: The run reached max_turns=1")
    assert result.usage.requests == 3  # the sub-run's one call is counted too


async def test_sub_run_approvals_pause_the_calling_run(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    paused = await research_team(client).run(BUY)

    assert paused.paused
    (request,) = paused.pending_approvals
    assert (request.tool, request.kind, request.arguments) == (
        "buy_report",
        "function",
        {"topic": "Cobalt"},
    )
    assert paused.usage.requests == 2  # the lead's call and the sub-run's
    saved = json.loads(paused.state.to_json())
    assert list(saved["sub_runs"]) == [
        c["call_id"] for c in paused.new_items if c["type"] == "function_call"
    ]
    assert saved["approvals"][0]["sub_run"] in saved["sub_runs"]

    state = RunState.from_json(paused.state.to_json())
    state.reject(request.id, "too expensive")
    done = await research_team(client).resume(state)
    assert done.output == (
        "Here is what the tools returned: market returned Here is what the tools returned: "
        "buy_report returned The user declined to run buy_report; it was not called. Their "
        "reason: too expensive.."
    )
    assert done.usage.requests == 4
    assert done.state.sub_runs == {}


async def test_a_checkpointed_runs_paused_sub_run_is_saved_and_resumed_by_run_id(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    store = MemoryCheckpoints()
    paused = await research_team(client).run(BUY, run_id="lead-1", checkpoints=store)
    (request,) = paused.pending_approvals
    [call] = [c for c in paused.new_items if c["type"] == "function_call"]
    sub_id = f"lead-1:{call['call_id']}/market"
    saved = await store.load(sub_id)
    assert saved is not None and saved["status"] == "paused"  # the sub-run, in the same store

    state = paused.state
    state.approve(request.id)
    done = await research_team(client).resume(state, checkpoints=store)

    assert "buy_report returned bought the report on Cobalt" in done.output
    assert (await store.load(sub_id) or {})["status"] == "finished"
    assert (await store.load("lead-1") or {})["status"] == "finished"


async def test_the_calling_runs_policy_decides_sub_run_approvals(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    asked: list[str] = []

    def policy(request: Any) -> Any:
        asked.append(request.tool)
        return approve()

    lead = research_team(client).clone(approval=policy)
    result = await lead.run(BUY)
    assert asked == ["buy_report"]
    assert "buy_report returned bought the report on Cobalt" in result.output


def test_a_paused_sub_run_resumes_in_another_process(server: LocalServer, tmp_path: Path) -> None:
    async def pause() -> RunState:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k") as client:
            return (await research_team(client).run(BUY)).state

    state = asyncio.run(pause())
    saved = tmp_path / "state.json"
    saved.write_text(state.to_json())
    done = subprocess.run(
        [sys.executable, str(WORKER), "resume-research", server.base_url, str(saved)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["status"] == "finished"
    assert "buy_report returned bought the report on Cobalt" in report["output"]
    assert report["usage"]["requests"] == 4
    assert done.stderr == ""
