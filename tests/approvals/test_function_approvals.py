"""Function tools with `needs_approval`: decided by a callback, or paused and resumed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentkit import (
    ApprovalDecided,
    ApprovalRequest,
    ApprovalRequested,
    FinalResult,
    ResumeError,
    RunPaused,
    RunState,
    ToolCallStarted,
    ToolResult,
    UserError,
    approve,
    reject,
    tool,
)
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Say

from .approval_tools import delete_file, deleted, list_files
from .conftest import AgentFactory

DELETE = Call("delete_file", '{"path": "a.txt"}', call_id="call_del")
LIST = Call("list_files", "{}", call_id="call_ls")


def outputs(body: dict[str, Any]) -> dict[str, str]:
    return {i["call_id"]: i["output"] for i in body["input"] if i["type"] == "function_call_output"}


# --- the callback ----------------------------------------------------------------------------


async def test_sync_callback_approves_and_the_tool_runs(
    scripted: LocalServer, agent: AgentFactory
) -> None:
    seen: list[ApprovalRequest] = []

    def policy(request: ApprovalRequest) -> Any:
        seen.append(request)
        return approve()

    scripted.scripted.queue(DELETE, Say("Deleted."))
    result = await agent(tools=[delete_file], approval=policy).run("delete a.txt")

    assert result.output == "Deleted."
    assert not result.paused and result.pending_approvals == []
    assert seen == [
        ApprovalRequest(
            id="call_del",
            kind="function",
            tool="delete_file",
            arguments={"path": "a.txt"},
            raw_arguments='{"path": "a.txt"}',
            server_label=None,
            definition_hash=delete_file.definition_hash(),
        )
    ]
    assert deleted == ["a.txt"]
    assert outputs(scripted.requests[1]) == {"call_del": "deleted a.txt"}
    assert result.state.status == "finished"


async def test_async_callback_rejects_with_a_reason_the_model_reads(
    scripted: LocalServer, agent: AgentFactory
) -> None:
    async def policy(request: ApprovalRequest) -> Any:
        return reject("not on a Friday")

    scripted.scripted.queue(DELETE, Say("OK, I did not delete it."))
    result = await agent(tools=[delete_file], approval=policy).run("delete a.txt")

    assert result.output == "OK, I did not delete it."
    assert deleted == []
    assert outputs(scripted.requests[1]) == {
        "call_del": "The user declined to run delete_file; it was not called. "
        "Their reason: not on a Friday"
    }
    assert [i["type"] for i in result.new_items] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]


async def test_reject_without_a_reason(scripted: LocalServer, agent: AgentFactory) -> None:
    scripted.scripted.queue(DELETE, Say("Fine."))
    await agent(tools=[delete_file], approval=lambda r: reject()).run("delete a.txt")
    assert outputs(scripted.requests[1]) == {
        "call_del": "The user declined to run delete_file; it was not called."
    }


async def test_only_calls_that_need_approval_reach_the_callback(
    scripted: LocalServer, agent: AgentFactory
) -> None:
    @tool(needs_approval=lambda ctx, args: args["amount"] > 100)
    def refund(amount: int) -> str:
        """Refund the customer."""
        return f"refunded {amount}"

    asked: list[str] = []

    def policy(request: ApprovalRequest) -> Any:
        asked.append(request.raw_arguments)
        return reject("too much")

    scripted.scripted.queue(
        [
            Call("refund", '{"amount": 20}', call_id="small"),
            Call("refund", '{"amount": 500}', call_id="big"),
        ],
        Say("done"),
    )
    await agent(tools=[refund], approval=policy).run("refund")
    assert asked == ['{"amount": 500}']
    assert outputs(scripted.requests[1]) == {
        "small": "refunded 20",
        "big": "The user declined to run refund; it was not called. Their reason: too much",
    }


async def test_a_callback_returning_something_else_is_a_user_error(
    scripted: LocalServer, agent: AgentFactory
) -> None:
    scripted.scripted.queue(DELETE)
    with pytest.raises(UserError, match=r"returned True for 'delete_file'"):
        await agent(tools=[delete_file], approval=lambda r: True).run("delete a.txt")
    assert deleted == []


# --- pause and resume ------------------------------------------------------------------------


async def test_without_a_callback_the_run_pauses_and_runs_nothing(
    scripted: LocalServer, agent: AgentFactory
) -> None:
    scripted.scripted.queue([LIST, DELETE])
    result = await agent(tools=[delete_file, list_files]).run("tidy up")

    assert result.paused
    assert [r.id for r in result.pending_approvals] == ["call_del"]
    assert result.state.status == "paused"
    assert result.state.pending_approvals == result.pending_approvals
    assert deleted == []
    with pytest.raises(RunPaused, match=r"delete_file \(call_del\)"):
        _ = result.output
    assert len(scripted.requests) == 1


@pytest.mark.parametrize(
    ("options", "chained"),
    [
        ({}, True),
        ({"chaining": "items"}, False),
        ({"store": False}, False),
    ],
    ids=["previous_response_id", "items", "store-false"],
)
async def test_pause_then_approve_then_resume(
    scripted: LocalServer, agent: AgentFactory, options: dict[str, Any], chained: bool
) -> None:
    scripted.scripted.queue([LIST, DELETE], Say("Tidied."))
    make = agent(tools=[delete_file, list_files], **options)
    paused = await make.run("tidy up")
    saved = paused.state.to_json()

    state = RunState.from_json(saved)
    state.approve("call_del")
    result = await make.resume(state)

    assert result.output == "Tidied."
    assert deleted == ["a.txt"]
    assert result.response_ids == [*paused.response_ids, result.response_ids[-1]]
    assert [i["type"] for i in result.new_items] == [
        "message",
        "function_call",
        "function_call",
        "function_call_output",
        "function_call_output",
        "message",
    ]
    second = scripted.requests[1]
    assert outputs(second) == {"call_ls": "a.txt b.txt", "call_del": "deleted a.txt"}
    if chained:
        assert second["previous_response_id"] == paused.response_ids[0]
        assert [i["type"] for i in second["input"]] == ["function_call_output"] * 2
    else:
        assert "previous_response_id" not in second
        assert [i["type"] for i in second["input"]] == [
            "message",
            "function_call",
            "function_call",
            "function_call_output",
            "function_call_output",
        ]
        assert second["store"] is options.get("store", True)


async def test_rejected_on_the_state_reaches_the_model(
    scripted: LocalServer, agent: AgentFactory
) -> None:
    scripted.scripted.queue([DELETE], Say("Kept it."))
    make = agent(tools=[delete_file])
    paused = await make.run("delete a.txt")
    paused.state.reject("call_del", "I need that file")
    result = await make.resume(paused.state)

    assert result.output == "Kept it."
    assert deleted == []
    assert outputs(scripted.requests[1]) == {
        "call_del": "The user declined to run delete_file; it was not called. "
        "Their reason: I need that file"
    }


async def test_a_callback_can_defer_and_its_decisions_are_kept(
    scripted: LocalServer, agent: AgentFactory
) -> None:
    scripted.scripted.queue(
        [DELETE, Call("delete_file", '{"path": "b.txt"}', call_id="call_b")], Say("Done.")
    )

    def policy(request: ApprovalRequest) -> Any:
        return approve() if request.arguments["path"] == "a.txt" else None

    make = agent(tools=[delete_file], approval=policy)
    paused = await make.run("delete both")
    assert [r.id for r in paused.pending_approvals] == ["call_b"]
    decided = {p["request"]["id"]: p["decision"] for p in paused.state.to_dict()["approvals"]}
    assert decided == {"call_del": {"approved": True, "reason": None}, "call_b": None}

    state = RunState.from_json(paused.state.to_json())
    state.reject("call_b")
    result = await make.resume(state)
    assert result.output == "Done."
    assert deleted == ["a.txt"]


async def test_undecided_on_resume_asks_the_resuming_agents_policy(
    scripted: LocalServer, agent: AgentFactory
) -> None:
    scripted.scripted.queue([DELETE], Say("Done."))
    paused = await agent(tools=[delete_file]).run("delete a.txt")
    result = await agent(tools=[delete_file], approval=lambda r: approve()).resume(paused.state)
    assert result.output == "Done."
    assert deleted == ["a.txt"]


async def test_undecided_on_resume_without_a_policy_pauses_again(
    scripted: LocalServer, agent: AgentFactory
) -> None:
    scripted.scripted.queue([DELETE], Say("Done."))
    make = agent(tools=[delete_file])
    first = await make.run("delete a.txt")
    second = await make.resume(first.state)
    assert second.paused and [r.id for r in second.pending_approvals] == ["call_del"]
    assert second.state.pause_id != first.state.pause_id
    assert len(scripted.requests) == 1

    second.state.approve("call_del")
    third = await make.resume(second.state)
    assert third.output == "Done."
    assert deleted == ["a.txt"]


async def test_streamed_approval_events(scripted: LocalServer, agent: AgentFactory) -> None:
    scripted.scripted.queue([DELETE], Say("Done."))
    make = agent(tools=[delete_file])
    events = [event async for event in make.stream("delete a.txt")]
    kinds = [type(e).__name__ for e in events]
    assert kinds[-2:] == ["ApprovalRequested", "FinalResult"]
    final = events[-1]
    assert isinstance(final, FinalResult) and final.result.paused
    requested = events[-2]
    assert isinstance(requested, ApprovalRequested) and requested.request.id == "call_del"

    final.result.state.approve("call_del")
    resumed = [event async for event in make.stream(final.result.state)]
    assert [type(e) for e in resumed[:3]] == [ApprovalDecided, ToolCallStarted, ToolResult]
    decided = resumed[0]
    assert isinstance(decided, ApprovalDecided) and decided.decision == approve()
    last = resumed[-1]
    assert isinstance(last, FinalResult) and last.result.output == "Done."


def test_sync_pause_and_resume(scripted: LocalServer) -> None:
    import openai

    from agentkit import Agent

    make = Agent(
        model="gpt-4o",
        tools=[delete_file],
        client=openai.OpenAI(base_url=scripted.base_url, api_key="k"),
    )
    scripted.scripted.queue([DELETE], Say("Done."))
    paused = make.run_sync("delete a.txt")
    paused.state.approve("call_del")
    assert make.resume_sync(paused.state).output == "Done."


# --- refusing to resume ----------------------------------------------------------------------


async def test_a_state_resumes_once(scripted: LocalServer, agent: AgentFactory) -> None:
    scripted.scripted.queue([DELETE], Say("Done."))
    make = agent(tools=[delete_file])
    paused = await make.run("delete a.txt")
    saved = paused.state.to_json()
    paused.state.approve("call_del")
    await make.resume(paused.state)

    with pytest.raises(ResumeError, match="already resumed"):
        await make.resume(paused.state)
    assert paused.state.status == "resumed"
    again = RunState.from_json(saved)  # the same pause, loaded again in this process
    again.approve("call_del")
    with pytest.raises(ResumeError, match="already resumed"):
        await make.resume(again)
    assert deleted == ["a.txt"]
    assert len(scripted.requests) == 2


async def test_a_finished_state_does_not_resume(scripted: LocalServer, agent: AgentFactory) -> None:
    scripted.scripted.queue(Say("Hi."))
    make = agent(tools=[delete_file])
    done = await make.run("hello")
    with pytest.raises(ResumeError, match="finished, not paused"):
        await make.resume(done.state)
    with pytest.raises(ResumeError, match="nothing to approve"):
        done.state.approve("x")


@pytest.mark.parametrize("change", ["added", "removed", "changed"])
async def test_a_changed_tool_set_refuses_to_resume(
    scripted: LocalServer, agent: AgentFactory, change: str
) -> None:
    scripted.scripted.queue([DELETE], Say("Done."))
    paused = await agent(tools=[delete_file, list_files]).run("delete a.txt")
    paused.state.approve("call_del")

    @tool(name="delete_file", needs_approval=True)
    def delete_everything(path: str) -> str:
        """Delete a file and everything near it."""
        return "all gone"

    tools = {
        "added": [delete_file, list_files, tool(name="extra")(lambda: "x")],
        "removed": [delete_file],
        "changed": [delete_everything, list_files],
    }[change]
    with pytest.raises(ResumeError, match="not the ones this run paused with"):
        await agent(tools=tools).resume(paused.state)
    assert paused.state.status == "paused"  # still resumable by the right agent
    result = await agent(tools=[delete_file, list_files]).resume(paused.state)
    assert result.output == "Done."
    assert deleted == ["a.txt"]


async def test_a_resumed_run_takes_no_conversation(agent: AgentFactory) -> None:
    from agentkit import Conversation

    with pytest.raises(UserError, match="no conversation"):
        await agent().run(RunState.begin(None, []), conversation=Conversation())


async def test_unknown_approval_id(scripted: LocalServer, agent: AgentFactory) -> None:
    scripted.scripted.queue([DELETE])
    paused = await agent(tools=[delete_file]).run("delete a.txt")
    with pytest.raises(UserError, match=r"no approval request 'nope' \(it has: call_del\)"):
        paused.state.approve("nope")
    assert json.loads(paused.state.to_json())["status"] == "paused"


async def test_a_resume_that_fails_before_anything_ran_can_be_retried(
    scripted: LocalServer, agent: AgentFactory
) -> None:
    scripted.scripted.queue([DELETE], Say("Done."))
    paused = await agent(tools=[delete_file]).run("delete a.txt")

    def broken(request: ApprovalRequest) -> Any:
        raise RuntimeError("the approvals service is down")

    with pytest.raises(RuntimeError, match="approvals service is down"):
        await agent(tools=[delete_file], approval=broken).resume(paused.state)
    assert paused.state.status == "paused"
    assert deleted == []

    result = await agent(tools=[delete_file], approval=lambda r: approve()).resume(paused.state)
    assert result.output == "Done."
    assert deleted == ["a.txt"]


async def test_a_stream_abandoned_before_anything_ran_leaves_the_pause_resumable(
    scripted: LocalServer, agent: AgentFactory
) -> None:
    scripted.scripted.queue([DELETE], Say("Done."))
    make = agent(tools=[delete_file])
    paused = await make.run("delete a.txt")
    paused.state.approve("call_del")
    events = make.stream(paused.state)
    first = await anext(events)
    assert isinstance(first, ApprovalDecided)
    await events.aclose()  # type: ignore[attr-defined]
    assert paused.state.status == "paused" and deleted == []
    assert (await make.resume(paused.state)).output == "Done."
