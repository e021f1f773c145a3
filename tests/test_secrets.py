"""No secret is kept or shown anywhere: every credential an agent is given, end to end.

One agent holds a distinct secret in each place one can go: the model endpoint's key (sent as
an `extra_headers` value), the client's own key, a hosted MCP server's bearer token, a user name
and password in a hosted MCP server's URL, a client-side MCP server's token (and, for the reprs,
a stdio server's environment). Its MCP servers quote the credentials they received, in outputs and in errors, as
careless servers do. Then each secret is searched for in every repr, the run state, the
conversation, the events, the local server's SQLite rows and request log, every log record, and
the messages of the errors a run raises.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from local_clients import TLS
from mcp.server.mcpserver import MCPServer
from mcp_testing import TIME_SERVER_MODULE, StreamableHTTPServer, add_quoting_tools
from secret_scan import assert_kept_nowhere, database_text

from agentkit import Agent, FinalResult, ModelCallError, ModelSettings, RemoteMCP, RetryPolicy
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Fail, Hosted, Say
from agentkit.tools import MCPConnectionError, MCPServerHTTP, MCPServerStdio

SERVER_KEY = "sk-server-key-51f0c2d8"
CLIENT_KEY = "sk-client-key-9d3e77a1"
HOSTED_TOKEN = "hosted-token-6b2f4e81"
URL_PASSWORD = "url-password-3c9a0d57"
CLIENT_TOKEN = "client-token-7e1d5b42"
ENV_SECRET = "env-secret-8f4c2a19"
BASIC = base64.b64encode(f"agent:{URL_PASSWORD}".encode()).decode()
SECRETS = (SERVER_KEY, CLIENT_KEY, HOSTED_TOKEN, URL_PASSWORD, CLIENT_TOKEN, ENV_SECRET, BASIC)


def careless_app() -> MCPServer:
    return add_quoting_tools(MCPServer("careless", log_level="WARNING"))


@pytest.fixture(scope="module")
def careless() -> Iterator[StreamableHTTPServer]:
    with StreamableHTTPServer(careless_app().streamable_http_app(), name="careless") as running:
        yield running


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[LocalServer]:
    with LocalServer(engine="scripted", db=str(tmp_path / "server.db"), api_key=SERVER_KEY) as s:
        yield s


def make_agent(client: openai.AsyncOpenAI, mcp_url: str, **options: Any) -> Agent[Any]:
    with_password = mcp_url.replace("http://", f"http://agent:{URL_PASSWORD}@", 1)
    tools = [
        RemoteMCP(server_label="basic", server_url=with_password, require_approval="never"),
        RemoteMCP(
            server_label="bearer",
            server_url=mcp_url,
            headers={"Authorization": f"Bearer {HOSTED_TOKEN}"},
            require_approval="never",
        ),
        MCPServerHTTP(mcp_url, name="mine", headers={"Authorization": f"Bearer {CLIENT_TOKEN}"}),
    ]
    settings = ModelSettings(extra_headers={"api-key": SERVER_KEY})  # what the server checks
    return Agent(model="gpt-4o", client=client, tools=tools, settings=settings, **options)


def ours_to_check(record: logging.LogRecord) -> bool:
    """agentkit's log lines at every level, and other libraries' from INFO (e.g. httpx's line
    per request with its URL). Left out: the careless MCP server's own logs (it runs in this
    process only for the test), and the `mcp` client's DEBUG trace of raw protocol messages,
    which shows what that server sent, as a trace is meant to."""
    if record.name.startswith(("mcp.server", "sse_starlette", "uvicorn")):
        return False
    return record.name.startswith("agentkit") or record.levelno >= logging.INFO


def client_for(server: LocalServer) -> openai.AsyncOpenAI:
    http = openai.DefaultAsyncHttpxClient(verify=TLS)
    return openai.AsyncOpenAI(base_url=server.base_url, api_key=CLIENT_KEY, http_client=http)


async def test_no_secret_in_any_repr_state_row_log_or_error(
    keyed: LocalServer,
    careless: StreamableHTTPServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    careless.seen.clear()
    keyed.scripted.queue(
        [
            Hosted("mcp", "repeat_authorization", "{}", {"server_label": "basic"}),
            Hosted("mcp", "refuse_authorization", "{}", {"server_label": "bearer"}),
            Call("repeat_authorization", "{}"),
            Call("refuse_authorization", "{}"),
        ],
        Say("done"),
        Fail(500, "the model fell over"),
    )
    async with client_for(keyed) as client:
        agent = make_agent(client, careless.url)
        events = [event async for event in agent.stream("who am I?")]
        final = events[-1]
        assert isinstance(final, FinalResult)
        result = final.result
        failing = agent.clone(retry=RetryPolicy(max_attempts=1))
        with pytest.raises(ModelCallError) as model_error:
            await failing.run("again", conversation=result.conversation)
        unreachable = MCPServerHTTP(f"http://agent:{URL_PASSWORD}@127.0.0.1:9/mcp", name="gone")
        with pytest.raises(MCPConnectionError) as connect_error:
            await agent.clone(tools=[unreachable]).run("hello")

    # Every secret did travel where it was meant to: the scans below are not vacuous. (The
    # server accepts SERVER_KEY only: CLIENT_KEY alone would have been refused.)
    assert result.output == "done"
    assert set(careless.authorizations) == {
        f"Basic {BASIC}",
        f"Bearer {HOSTED_TOKEN}",
        f"Bearer {CLIENT_TOKEN}",
    }
    outputs = [
        str(item.get("output") or item.get("error"))
        for item in result.new_items
        if item["type"] in ("mcp_call", "function_call_output")
    ]
    assert len(outputs) == 4 and all("***" in output for output in outputs), outputs
    assert caplog.records

    # A stdio server's environment (not started here: that costs seconds; its scrubbing is
    # tested in tests/mcp_client).
    stdio = MCPServerStdio(sys.executable, args=["-m", TIME_SERVER_MODULE], env={"K": ENV_SECRET})
    errors = (model_error.value, connect_error.value)
    kept = {
        "agent's repr": repr(agent) + str(agent) + repr(failing),
        "tools' and settings' reprs": repr([*agent.tools, stdio]) + repr(agent.settings),
        "run state": result.state.to_json(),
        "conversation": result.conversation.to_json(),
        "events": repr(events),
        "server database": database_text(tmp_path / "server.db"),
        "server request log": json.dumps(keyed.requests),
        "logs": "\n".join(r.getMessage() for r in caplog.records if ours_to_check(r)),
        "errors": "\n".join(f"{e}\n{e!r}" for e in errors) + model_error.value.state.to_json(),
    }
    assert_kept_nowhere(SECRETS, kept)
