"""Client-side MCP servers' tools under the same approvals: settings, trust, changed definitions."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from agentkit import ApprovalRequest, ConfigurationError, MCPServerHTTP, RunState, approve
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Say

from . import mcp_app
from .conftest import AgentFactory
from .mcp_app import MCPHTTPServer

READ = Call("read_file", '{"path": "a.txt"}', call_id="call_read")
DELETE = Call("delete_file", '{"path": "a.txt"}', call_id="call_del")


def files(server: MCPHTTPServer, **options: Any) -> MCPServerHTTP:
    return MCPServerHTTP(server.url, name="files", **options)


@pytest.mark.parametrize(
    ("options", "asked"),
    [
        ({}, []),
        ({"require_approval": "always"}, ["read_file", "delete_file"]),
        ({"require_approval": "always", "trusted": True}, ["delete_file"]),
        ({"require_approval": ["delete_file"]}, ["delete_file"]),
        ({"require_approval": "never", "trusted": True}, []),
    ],
    ids=["default-never", "always", "always-trusted", "named", "never"],
)
async def test_which_calls_need_approval(
    scripted: LocalServer,
    agent: AgentFactory,
    mcp_v1: MCPHTTPServer,
    options: dict[str, Any],
    asked: list[str],
) -> None:
    seen: list[ApprovalRequest] = []

    def policy(request: ApprovalRequest) -> Any:
        seen.append(request)
        return approve()

    scripted.scripted.queue([READ, DELETE], Say("Done."))
    result = await agent(tools=[files(mcp_v1, **options)], approval=policy).run("go")
    assert result.output == "Done."
    assert [r.tool for r in seen] == asked
    assert all(r.kind == "function" and r.server_label == "files" for r in seen)
    assert sorted(mcp_app.calls) == ["delete a.txt", "read a.txt"]  # they run concurrently


def test_require_approval_must_be_a_list_of_names() -> None:
    with pytest.raises(ConfigurationError, match="require_approval"):
        MCPServerHTTP("http://127.0.0.1:1/mcp", require_approval="sometimes")  # type: ignore[arg-type]


async def test_a_tool_changed_since_its_approval_is_asked_again(
    scripted: LocalServer,
    agent: AgentFactory,
    mcp_v1: MCPHTTPServer,
    mcp_v2: MCPHTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scripted.scripted.queue([DELETE], Say("Done."))
    paused = await agent(tools=[files(mcp_v1, require_approval="always")]).run("delete a.txt")
    state = RunState.from_json(paused.state.to_json())
    state.approve("call_del")

    upgraded = agent(tools=[files(mcp_v2, require_approval="always")])
    again = await upgraded.resume(state)

    assert again.paused and [r.id for r in again.pending_approvals] == ["call_del"]
    assert mcp_app.calls == []
    assert "Tool 'delete_file' changed since its call was approved; asking again." in (
        caplog.messages
    )
    assert caplog.records[-1].levelno == logging.WARNING

    asked: list[str] = []

    def policy(request: ApprovalRequest) -> Any:
        asked.append(request.tool)
        return approve()

    result = await agent(tools=[files(mcp_v2, require_approval="always")], approval=policy).resume(
        again.state
    )
    assert result.output == "Done."
    assert asked == ["delete_file"]
    assert mcp_app.calls == ["delete a.txt"]


async def test_an_unchanged_tool_keeps_its_approval(
    scripted: LocalServer, agent: AgentFactory, mcp_v1: MCPHTTPServer
) -> None:
    scripted.scripted.queue([DELETE], Say("Done."))
    make = agent(tools=[files(mcp_v1, require_approval="always")])
    paused = await make.run("delete a.txt")
    paused.state.approve("call_del")
    result = await agent(tools=[files(mcp_v1, require_approval="always")]).resume(paused.state)
    assert result.output == "Done."
    assert mcp_app.calls == ["delete a.txt"]
