"""Hosted MCP approvals end to end: agent → local server → a real MCP server over HTTP.

The local server lists the remote server's tools, asks for approval where `require_approval`
says so, and runs approved calls; the agent answers each `mcp_approval_request` with an
`mcp_approval_response`, by `previous_response_id` or with the whole transcript by value.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentkit import ApprovalRequest, RemoteMCP, RunState, approve, reject
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Hosted, Raw, Say

from . import mcp_app
from .approval_tools import delete_file, deleted
from .conftest import AgentFactory
from .mcp_app import MCPHTTPServer

DELETE_REMOTE = Hosted("mcp", "delete_file", '{"path":"a.txt"}', {"server_label": "files"})
READ_REMOTE = Hosted("mcp", "read_file", '{"path":"a.txt"}', {"server_label": "files"})


def files(server: MCPHTTPServer, **options: Any) -> RemoteMCP:
    return RemoteMCP(server_label="files", server_url=server.url, **options)


def types(items: list[dict[str, Any]]) -> list[str]:
    return [item["type"] for item in items]


async def test_a_raw_approval_request_is_answered_by_the_callback(
    scripted: LocalServer, agent: AgentFactory, mcp_v1: MCPHTTPServer
) -> None:
    request = {
        "id": "mcpr_raw_1",
        "type": "mcp_approval_request",
        "arguments": '{"path":"a.txt"}',
        "name": "delete_file",
        "server_label": "files",
    }
    scripted.scripted.queue(Raw(request), Say("Deleted it."))
    seen: list[ApprovalRequest] = []

    def policy(r: ApprovalRequest) -> Any:
        seen.append(r)
        return approve()

    result = await agent(tools=[files(mcp_v1)], approval=policy).run("delete a.txt")

    assert result.output == "Deleted it."
    assert seen == [
        ApprovalRequest(
            id="mcpr_raw_1",
            kind="mcp",
            tool="delete_file",
            arguments={"path": "a.txt"},
            raw_arguments='{"path":"a.txt"}',
            server_label="files",
        )
    ]
    second = scripted.requests[1]
    assert second["previous_response_id"] == result.response_ids[0]
    assert second["input"] == [
        {"type": "mcp_approval_response", "approval_request_id": "mcpr_raw_1", "approve": True}
    ]
    call = next(i for i in result.new_items if i["type"] == "mcp_call")
    assert (call["approval_request_id"], call["output"]) == ("mcpr_raw_1", "deleted a.txt")
    assert mcp_app.calls == ["delete a.txt"]


async def test_a_rejection_reaches_the_service_with_its_reason(
    scripted: LocalServer, agent: AgentFactory, mcp_v1: MCPHTTPServer
) -> None:
    scripted.scripted.queue(DELETE_REMOTE, Say("I did not delete it."))
    result = await agent(tools=[files(mcp_v1)], approval=lambda r: reject("keep it")).run("go")

    assert result.output == "I did not delete it."
    response = scripted.requests[1]["input"][0]
    assert response == {
        "type": "mcp_approval_response",
        "approval_request_id": result.new_items[2]["id"],
        "approve": False,
        "reason": "keep it",
    }
    assert "mcp_call" not in types(result.new_items)
    assert mcp_app.calls == []


@pytest.mark.parametrize(
    "options",
    [{}, {"chaining": "items"}, {"store": False}],
    ids=["previous_response_id", "items", "store-false"],
)
async def test_pause_json_approve_resume(
    scripted: LocalServer, agent: AgentFactory, mcp_v1: MCPHTTPServer, options: dict[str, Any]
) -> None:
    scripted.scripted.queue(DELETE_REMOTE, Say("Deleted."))
    make = agent(tools=[files(mcp_v1)], **options)
    paused = await make.run("delete a.txt")

    assert paused.paused
    [pending] = paused.pending_approvals
    assert (pending.kind, pending.tool, pending.server_label) == ("mcp", "delete_file", "files")
    assert types(paused.new_items) == ["message", "mcp_list_tools", "mcp_approval_request"]
    assert mcp_app.calls == []

    state = RunState.from_json(paused.state.to_json())
    state.approve(pending.id)
    result = await make.resume(state)

    assert result.output == "Deleted."
    assert mcp_app.calls == ["delete a.txt"]
    answer = {"type": "mcp_approval_response", "approval_request_id": pending.id, "approve": True}
    second = scripted.requests[1]
    if not options:
        assert second["previous_response_id"] == paused.response_ids[0]
        assert second["input"] == [answer]
    else:
        assert "previous_response_id" not in second
        assert second["input"] == [*paused.new_items, answer]  # the request by value
        assert second["store"] is options.get("store", True)
    assert types(result.new_items) == [
        "message",
        "mcp_list_tools",
        "mcp_approval_request",
        "mcp_approval_response",
        "mcp_call",
        "message",
    ]


async def test_never_needs_no_approval(
    scripted: LocalServer, agent: AgentFactory, mcp_v1: MCPHTTPServer
) -> None:
    scripted.scripted.queue(READ_REMOTE, Say("It says: contents of a.txt"))
    result = await agent(tools=[files(mcp_v1, require_approval="never")]).run("read a.txt")
    assert result.output == "It says: contents of a.txt"
    assert types(result.new_items) == ["message", "mcp_list_tools", "mcp_call", "message"]
    assert scripted.requests[0]["tools"][0]["require_approval"] == "never"


async def test_hosted_and_function_approvals_in_one_turn(
    scripted: LocalServer, agent: AgentFactory, mcp_v1: MCPHTTPServer
) -> None:
    local = Call("delete_file", '{"path": "b.txt"}', call_id="call_b")
    scripted.scripted.queue([local, DELETE_REMOTE], Say("Both gone."))
    make = agent(tools=[delete_file, files(mcp_v1)])
    paused = await make.run("delete a.txt here and b.txt there")

    kinds = {r.kind: r.id for r in paused.pending_approvals}
    assert set(kinds) == {"function", "mcp"}
    state = RunState.from_json(paused.state.to_json())
    for request_id in kinds.values():
        state.approve(request_id)
    result = await make.resume(state)

    assert result.output == "Both gone."
    assert deleted == ["b.txt"] and mcp_app.calls == ["delete a.txt"]
    sent = scripted.requests[1]["input"]
    assert types(sent) == ["function_call_output", "mcp_approval_response"]
    assert json.loads(json.dumps(sent[1]))["approval_request_id"] == kinds["mcp"]


async def test_the_auto_engine_end_to_end(agent: AgentFactory, mcp_v1: MCPHTTPServer) -> None:
    """No script: the auto engine calls the tools the user names; the server asks first for
    the one that is not read-only."""
    import openai

    from agentkit import Agent

    with LocalServer() as server:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k") as client:
            reads_freely = files(mcp_v1, require_approval={"never": {"read_only": True}})
            make = Agent(model="gpt-4o", client=client, tools=[reads_freely])
            paused = await make.run("Please read the file a.txt, then delete the file")
            assert mcp_app.calls == ["read example path"]  # read-only: no approval asked
            [pending] = paused.pending_approvals
            assert pending.tool == "delete_file"
            paused.state.approve(pending.id)
            result = await make.resume(paused.state)
    assert "delete_file returned deleted example path" in result.output
    assert mcp_app.calls == ["read example path", "delete example path"]


async def test_streamed_pause_and_resume(
    scripted: LocalServer, agent: AgentFactory, mcp_v1: MCPHTTPServer
) -> None:
    from agentkit import ApprovalDecided, ApprovalRequested, FinalResult, TextDelta

    scripted.scripted.queue(DELETE_REMOTE, Say("Deleted."))
    make = agent(tools=[files(mcp_v1)])
    events = [e async for e in make.stream("delete a.txt")]
    assert [type(e).__name__ for e in events][-2:] == ["ApprovalRequested", "FinalResult"]
    requested, final = events[-2:]
    assert isinstance(requested, ApprovalRequested) and requested.request.kind == "mcp"
    assert isinstance(final, FinalResult) and final.result.paused

    final.result.state.approve(requested.request.id)
    resumed = [e async for e in make.stream(final.result.state)]
    assert isinstance(resumed[0], ApprovalDecided)
    assert "".join(e.delta for e in resumed if isinstance(e, TextDelta)) == "Deleted."
    last = resumed[-1]
    assert isinstance(last, FinalResult) and last.result.output == "Deleted."
    assert mcp_app.calls == ["delete a.txt"]
