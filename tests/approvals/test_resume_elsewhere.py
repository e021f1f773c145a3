"""Pause here, resume in another process; and no secret is ever kept along the way.

A run pauses on a function tool and a hosted MCP call, its state goes to a file as JSON, and a
real subprocess loads it, approves, and resumes against the same local server. Afterwards the
MCP header and the API key are searched for in everything kept: the run states, the
conversation, the server's SQLite rows and request log, the subprocess's output, every log line.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from local_clients import TLS
from secret_scan import assert_kept_nowhere, database_text

from agentkit import Agent, ModelCallError, RemoteMCP, RunState, approve
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Fail, Hosted, Say

from . import mcp_app
from .approval_tools import delete_file, deleted
from .mcp_app import MCPHTTPServer

HERE = Path(__file__).parent
API_KEY = "sk-local-4f1c9e0b7d2a6e8f"
TOKEN = "Bearer mcp-token-9c8b7a6f5e4d3c2b"
SECRETS = (API_KEY, TOKEN, TOKEN.split()[1])


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[LocalServer]:
    """A scripted server of this test's own, on disk, checking an API key like Azure."""
    with LocalServer(engine="scripted", db=str(tmp_path / "server.db"), api_key=API_KEY) as s:
        yield s


def make_agent(
    client: openai.AsyncOpenAI, mcp: MCPHTTPServer, chaining: str, **more: Any
) -> Agent[Any]:
    files = RemoteMCP(server_label="files", server_url=mcp.url, headers={"Authorization": TOKEN})
    options: dict[str, Any] = {"store": False} if chaining == "store-false" else {}
    return Agent(model="gpt-4o", client=client, tools=[delete_file, files], **options, **more)


def resume_elsewhere(
    server: LocalServer, state_file: Path, mcp: MCPHTTPServer, chaining: str
) -> dict[str, Any]:
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AGENTKIT_", "OPENAI_", "AZURE_"))
        },
        "APPROVALS_API_KEY": API_KEY,
        "APPROVALS_MCP_TOKEN": TOKEN,
    }
    done = subprocess.run(
        [
            sys.executable,
            str(HERE / "resume_elsewhere.py"),
            server.base_url,
            str(state_file),
            mcp.url,
            chaining,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    for secret in SECRETS:
        assert secret not in done.stdout
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.mark.parametrize("chaining", ["previous_response_id", "store-false"])
async def test_pause_here_resume_in_another_process_and_no_secret_is_kept(
    keyed: LocalServer,
    mcp_v1: MCPHTTPServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    chaining: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    mcp_v1.seen.clear()
    remote = Hosted("mcp", "delete_file", '{"path":"a.txt"}', {"server_label": "files"})
    keyed.scripted.queue(
        [Call("delete_file", '{"path": "b.txt"}', call_id="call_b"), remote],
        Say("Both files are gone."),
    )
    http = openai.DefaultAsyncHttpxClient(verify=TLS)
    async with openai.AsyncOpenAI(
        base_url=keyed.base_url, api_key=API_KEY, http_client=http
    ) as client:
        paused = await make_agent(client, mcp_v1, chaining).run("delete a.txt and b.txt")
    assert paused.paused and len(paused.pending_approvals) == 2
    state_file = tmp_path / "paused.json"
    state_file.write_text(paused.state.to_json())

    report = resume_elsewhere(keyed, state_file, mcp_v1, chaining)

    assert report["output"] == "Both files are gone."
    assert report["deleted"] == ["b.txt"]  # run by the resuming process...
    assert deleted == []  # ...not by this one
    assert mcp_app.calls == ["delete a.txt"]
    finished = RunState.from_json(report["state"])
    assert finished.status == "finished"
    assert [i["type"] for i in finished.new_items][-3:] == [
        "mcp_approval_response",
        "mcp_call",
        "message",
    ]
    # The token did reach the MCP server: the scan below is not vacuous.
    assert TOKEN in mcp_v1.authorizations

    kept = {
        "paused state": paused.state.to_json(),
        "paused conversation": paused.conversation.to_json(),
        "state file": state_file.read_text(),
        "finished state": report["state"],
        "server database": database_text(tmp_path / "server.db"),
        "server request log": json.dumps(keyed.requests),
        "logs": "\n".join(r.getMessage() for r in caplog.records),
    }
    assert caplog.records, "nothing was logged: the scan of the logs would pass vacuously"
    assert_kept_nowhere(SECRETS, kept)


async def test_errors_and_callbacks_keep_no_secret(
    keyed: LocalServer, mcp_v1: MCPHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    keyed.scripted.queue(
        Hosted("mcp", "delete_file", '{"path":"a.txt"}', {"server_label": "files"}),
        Fail(500, "the model fell over"),
    )
    http = openai.DefaultAsyncHttpxClient(verify=TLS)
    async with openai.AsyncOpenAI(
        base_url=keyed.base_url, api_key=API_KEY, http_client=http, max_retries=0
    ) as client:
        from agentkit import RetryPolicy

        agent = make_agent(client, mcp_v1, "previous_response_id", approval=lambda r: approve())
        with pytest.raises(ModelCallError) as caught:
            await agent.clone(retry=RetryPolicy(max_attempts=1)).run("delete a.txt")
    texts = [str(caught.value), caught.value.state.to_json(), repr(agent), caplog.text]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
