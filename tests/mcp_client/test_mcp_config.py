"""MCP server configuration: lazy import, secrets kept out of reprs, validation."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest

from agentkit import Agent, ConfigurationError
from agentkit.tools import MCPServerHTTP, MCPServerStdio


def test_importing_agentkit_does_not_import_mcp() -> None:
    code = (
        "import sys, agentkit, agentkit.tools, agentkit.tools.mcp\n"
        "from agentkit.tools import MCPServerHTTP, MCPServerStdio\n"
        "agentkit.Agent(model='m', tools=[MCPServerStdio('x'), MCPServerHTTP('http://h/mcp')])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'jsonschema')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "[]"


def test_headers_and_env_values_are_not_in_reprs() -> None:
    http = MCPServerHTTP(
        "https://user:url-password@mcp.example.com/mcp?team=query-value",
        headers={"X-Api-Key": "header-secret"},
    )
    stdio = MCPServerStdio("server", env={"API_TOKEN": "env-secret"})
    agent = Agent(model="m", tools=[http, stdio])

    text = repr(http) + repr(stdio) + repr(agent) + str(agent)

    basic = "Basic " + base64.b64encode(b"user:url-password").decode()
    for secret in ("header-secret", "env-secret", "url-password", basic.split()[1]):
        assert secret not in text
    assert repr(http) == "MCPServerHTTP(https://mcp.example.com/mcp, name='mcp_example_com')"


def test_scrub_replaces_secret_values_bearer_tokens_and_url_credentials() -> None:
    http = MCPServerHTTP(
        "http://h/mcp?team=query-value",
        headers={"Authorization": "Bearer s3cret-token", "X-Team": "red"},
    )
    basic = MCPServerHTTP("http://me:url-password@h/mcp")
    stdio = MCPServerStdio("x", env={"API_KEY": "env-secret-value", "LOG_LEVEL": "info"})

    assert http.scrub("Bearer s3cret-token; s3cret-token; query-value") == "***; ***; ***"
    assert http.scrub("team red") == "team red"  # too short to be a secret
    token = base64.b64encode(b"me:url-password").decode()
    assert basic.scrub(f"{token} me:url-password url-password") == "*** *** ***"
    assert stdio.scrub("key env-secret-value, level info") == "key ***, level info"


def test_a_user_and_password_in_the_url_become_a_basic_authorization_header() -> None:
    server = MCPServerHTTP("https://me:p%40ss@mcp.example.com/mcp", headers={"X-Team": "red"})

    assert server.url == "https://mcp.example.com/mcp"
    assert server.headers == {
        "X-Team": "red",
        "Authorization": "Basic " + base64.b64encode(b"me:p@ss").decode(),
    }


@pytest.mark.parametrize(
    ("url", "headers", "message"),
    [
        (
            "https://h/mcp?api_key=query-secret",
            None,
            "query parameter 'api_key' looks like a credential",
        ),
        ("https://h/mcp?accessToken=query-secret", None, "'accessToken'"),
        (
            "https://me:url-secret@h/mcp",
            {"authorization": "Bearer header-secret"},
            "an Authorization is configured too",
        ),
    ],
)
def test_url_credentials_that_cannot_move_are_refused_without_quoting_them(
    url: str, headers: dict[str, str] | None, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as refused:
        MCPServerHTTP(url, headers=headers)
    assert "secret" not in str(refused.value)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: MCPServerStdio("x", name="bad name!"), "Invalid MCP server name"),
        (lambda: MCPServerStdio("x", timeout=0), "timeout must be positive"),
        (lambda: MCPServerStdio("x", connect_timeout=-1), "connect_timeout must be positive"),
        (lambda: MCPServerStdio("x", args="--flag"), "args must be a list"),
        (lambda: MCPServerStdio("x", allowed_tools="now"), "allowed_tools must be a list"),
        (lambda: MCPServerHTTP("ftp://u:p@h/mcp"), "the URL must be http(s), not 'ftp'"),
        (
            lambda: Agent(model="m", tools=[MCPServerStdio("a"), MCPServerStdio("a")]),
            "two MCP servers are named 'a'",
        ),
    ],
)
def test_bad_configurations_fail_early(make: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()  # type: ignore[operator]


def test_servers_are_immutable_values() -> None:
    server = MCPServerStdio("x", args=["a"], allowed_tools=["now"])

    assert server.args == ("a",)
    assert server.allowed_tools == frozenset({"now"})
    assert server == MCPServerStdio("x", args=("a",), allowed_tools={"now"})
