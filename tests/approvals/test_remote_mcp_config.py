"""`RemoteMCP`: the hosted `mcp` tool param, its safety defaults, and keeping its secrets."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from agentkit import Agent, ConfigurationError, RemoteMCP
from agentkit.run.request import build_request
from agentkit.run.state import RunState
from agentkit.tools.hosted import fingerprint

TOKEN = "Bearer remote-mcp-secret-token-42"


def zip1(**options: Any) -> RemoteMCP:
    return RemoteMCP(**{"server_label": "zip1", "server_url": "https://zip1.io/mcp", **options})


def test_the_param_defaults_to_always_asking() -> None:
    assert zip1().to_param() == {
        "type": "mcp",
        "server_label": "zip1",
        "server_url": "https://zip1.io/mcp",
        "require_approval": "always",
    }


def test_every_option_in_the_param() -> None:
    tool = zip1(
        headers={"Authorization": TOKEN},
        authorization="oauth-access-token",
        allowed_tools=frozenset({"validate_url", "create_short_url"}),
        require_approval={"never": {"tool_names": ["validate_url"]}},
        server_description="Link shortener",
    )
    assert tool.to_param() == {
        "type": "mcp",
        "server_label": "zip1",
        "server_url": "https://zip1.io/mcp",
        "require_approval": {"never": {"tool_names": ["validate_url"]}},
        "allowed_tools": ["create_short_url", "validate_url"],
        "server_description": "Link shortener",
        "headers": {"Authorization": TOKEN},
        "authorization": "oauth-access-token",
    }


def test_repr_shows_no_secret() -> None:
    tool = RemoteMCP(
        server_label="x",
        server_url="https://user:url-password@example.com/mcp?team=abc",
        headers={"X-Api-Key": "header-secret"},
    )
    text = repr(tool)
    assert text == "RemoteMCP(server_label='x', server_url='https://example.com/mcp')"
    oauth = RemoteMCP(server_label="y", server_url="https://example.com/mcp", authorization="oa")
    agent_text = repr(Agent(model="m", tools=[tool, oauth]))
    basic = tool.to_param()["headers"]["Authorization"].split()[1]
    for secret in ("header-secret", "url-password", basic, "authorization='oa'"):
        assert secret not in text and secret not in agent_text


def test_a_user_and_password_in_the_url_are_sent_as_basic_authorization_not_in_the_url() -> None:
    tool = zip1(server_url="https://me:p%40ss@zip1.io/mcp", headers={"X-Team": "red"})
    basic = "Basic " + base64.b64encode(b"me:p@ss").decode()
    assert tool.server_url == "https://zip1.io/mcp"
    assert tool.to_param()["server_url"] == "https://zip1.io/mcp"
    assert tool.to_param()["headers"] == {"X-Team": "red", "Authorization": basic}
    assert fingerprint([tool.to_param()]) == fingerprint([zip1().to_param()])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"server_url": "https://zip1.io/mcp?token=query-secret"},
            "query parameter 'token' looks like a credential",
        ),
        ({"server_url": "https://zip1.io/mcp?X-Amz-Signature=query-secret"}, "'X-Amz-Signature'"),
        (
            {"server_url": "https://me:url-secret@zip1.io/mcp", "authorization": "oauth-secret"},
            "an Authorization is configured too",
        ),
        (
            {"server_url": "https://me:url-secret@zip1.io/mcp", "headers": {"Authorization": "x"}},
            "an Authorization is configured too",
        ),
    ],
)
def test_url_credentials_that_cannot_move_are_refused_without_quoting_them(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as refused:
        zip1(**options)
    assert "secret" not in str(refused.value)


def test_a_query_that_carries_no_credential_is_kept() -> None:
    tool = zip1(server_url="https://zip1.io/mcp?team=links&version=2")
    assert tool.to_param()["server_url"] == "https://zip1.io/mcp?team=links&version=2"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"server_url": "ftp://x"}, "http"),
        ({"server_label": ""}, "server_label"),
        ({"require_approval": "sometimes"}, "require_approval"),
        ({"require_approval": {"maybe": {}}}, "require_approval"),
        ({"allowed_tools": "one"}, "allowed_tools"),
    ],
)
def test_bad_options(options: dict[str, Any], message: str) -> None:
    values = {"server_label": "zip1", "server_url": "https://zip1.io/mcp", **options}
    with pytest.raises(ConfigurationError, match=message):
        RemoteMCP(**values)


def test_two_servers_with_one_label_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="zip1"):
        Agent(model="m", tools=[zip1(), zip1()])


def test_the_request_carries_the_headers_the_state_never_does() -> None:
    agent = Agent(model="m", tools=[zip1(headers={"Authorization": TOKEN})])
    state = RunState.begin(None, [])
    body = build_request(agent._plan, state.conversation, None)
    assert body["tools"][0]["headers"] == {"Authorization": TOKEN}
    assert TOKEN not in state.to_json()
    assert TOKEN not in repr(agent._plan)


def test_the_tool_set_hash_ignores_secrets_only() -> None:
    plain = fingerprint([zip1().to_param()])
    assert fingerprint([zip1(headers={"Authorization": TOKEN}).to_param()]) == plain
    assert fingerprint([zip1(authorization="a-token").to_param()]) == plain
    assert fingerprint([zip1(require_approval="never").to_param()]) != plain
    assert fingerprint([zip1(allowed_tools=["a"]).to_param()]) != plain


def test_hosted_tools_come_after_function_tools() -> None:
    def ping() -> str:
        """Ping."""
        return "pong"

    agent = Agent(model="m", tools=[zip1(), ping])
    assert [t["type"] for t in agent._plan.tools] == ["function", "mcp"]
