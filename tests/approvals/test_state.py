"""RunState with approvals as JSON: round trips, versioned fixtures of old formats, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentkit import ApprovalRequest, ResumeError, RunState, UserError, approve, reject
from agentkit.run.approvals import Pending
from agentkit.server import LocalServer
from agentkit.server.plan import Say

from .approval_tools import delete_file, deleted
from .conftest import AgentFactory

FIXTURES = Path(__file__).parent / "fixtures"


def paused_state() -> RunState:
    state = RunState.begin(None, [])
    state.approvals = [
        Pending(
            ApprovalRequest(
                id="mcpr_1",
                kind="mcp",
                tool="create_short_url",
                arguments={"url": "https://ai-sdk.dev/"},
                raw_arguments='{"url":"https://ai-sdk.dev/"}',
                server_label="zip1",
            )
        ),
        Pending(
            ApprovalRequest("call_1", "function", "delete_file", {}, "not json", None, "abc"),
            reject("no"),
        ),
    ]
    state.pause("hash")
    return state


def test_a_paused_state_round_trips() -> None:
    state = paused_state()
    again = RunState.from_json(state.to_json())
    assert again == state
    assert again.pending_approvals == [state.approvals[0].request]
    assert again.approvals[1].request.arguments == {}
    assert again.approvals[1].decision == reject("no")


def test_decisions_change_until_resumed() -> None:
    state = paused_state()
    state.approve("call_1")
    assert state.approvals[1].decision == approve()
    state.reject("mcpr_1", "too risky")
    assert state.pending_approvals == []
    copy = state.claim("hash")
    assert copy.approvals[0].decision == reject("too risky")
    with pytest.raises(ResumeError, match="already resumed"):
        state.approve("mcpr_1")


def test_the_format_1_fixture_still_loads_and_is_not_resumable() -> None:
    state = RunState.from_json((FIXTURES / "run_state_v1.json").read_text())
    assert (state.status, state.approvals, state.turn) == ("running", [], 1)
    with pytest.raises(ResumeError, match="running, not paused"):
        state.claim("hash")


async def test_the_format_2_fixture_resumes(scripted: LocalServer, agent: AgentFactory) -> None:
    """A paused state saved by this format resumes: the tool hash must stay stable."""
    state = RunState.from_json((FIXTURES / "run_state_v2_paused.json").read_text())
    assert [r.id for r in state.pending_approvals] == ["call_del"]
    state.approve("call_del")
    scripted.scripted.queue(Say("Done."))
    result = await agent(tools=[delete_file], chaining="items").resume(state)
    assert result.output == "Done."
    assert deleted == ["a.txt"]


@pytest.mark.parametrize("version", [0, 4, None, "2"])
def test_other_formats_are_refused_clearly(version: Any) -> None:
    data = json.loads((FIXTURES / "run_state_v2_paused.json").read_text())
    data["format"] = version
    with pytest.raises(ResumeError, match=r"format .* is not supported .* reads formats 1, 2, 3"):
        RunState.from_dict(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(status="asleep"), "status 'asleep'"),
        (lambda d: d.pop("turn"), "missing or has a bad field"),
        (lambda d: d["approvals"][0]["request"].update(kind="shell"), "unknown approval kind"),
    ],
)
def test_bad_fields(change: Any, message: str) -> None:
    data = json.loads((FIXTURES / "run_state_v2_paused.json").read_text())
    change(data)
    with pytest.raises(UserError, match=message):
        RunState.from_dict(data)


@pytest.mark.parametrize("text", ["not json", "[]"])
def test_not_a_state(text: str) -> None:
    with pytest.raises(UserError, match="RunState JSON"):
        RunState.from_json(text)
