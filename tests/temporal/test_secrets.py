"""Nothing secret enters a workflow's history: not the model's API key, not a hosted MCP server's
headers (they travel in each request body), not a client-side MCP server's environment."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.server.mcpserver import MCPServer
from mcp_testing import StreamableHTTPServer
from secret_scan import assert_kept_nowhere
from temporalio.client import Client

from agentkit.server import LocalServer
from agentkit.server.plan import Call, Hosted, Say
from agentkit.temporal import ConversationClient

from .conftest import MODEL_KEY
from .history import activities, raw
from .test_crashes import APP, worker_env
from .worker_process import WorkerProcess

FILES_TOKEN = "files-mcp-token-0123456789abcdef"
NOTES_TOKEN = "notes-mcp-token-fedcba9876543210"


@pytest.fixture
def files_mcp() -> Iterator[StreamableHTTPServer]:
    """A hosted MCP server (the local Responses server calls it) that wants `FILES_TOKEN`."""
    app: MCPServer = MCPServer("files", log_level="WARNING")

    @app.tool(description="Read a file.")
    def read_file(path: str) -> str:
        return f"contents of {path}"

    def refuse(headers: dict[str, str], query: str) -> bool:
        return headers.get("authorization") != f"Bearer {FILES_TOKEN}"

    with StreamableHTTPServer(app.streamable_http_app(), refuse=refuse) as running:
        yield running


async def test_no_key_or_mcp_credential_is_written_to_the_history(
    temporal_server: str,
    agents_client: Client,
    model: LocalServer,
    files_mcp: StreamableHTTPServer,
    tmp_path: Path,
) -> None:
    read = Hosted("mcp", "read_file", '{"path": "a.txt"}', {"server_label": "files"})
    model.scripted.queue(
        [read, Call("record", '{"tag": "F"}', call_id="call_f")],
        Say("Read and recorded."),
        Call("add_note", '{"text": "secret-free"}', call_id="call_n"),
        Say("Noted."),
    )
    queue = f"secrets-{uuid.uuid4().hex[:8]}"
    env = {
        **worker_env(),
        "FILES_MCP_URL": files_mcp.url,
        "FILES_MCP_TOKEN": FILES_TOKEN,
        "NOTES_TOKEN": NOTES_TOKEN,
    }
    library = ConversationClient(agents_client, agent="librarian", task_queue=queue)
    notes = ConversationClient(agents_client, agent="notetaker", task_queue=queue)
    library_chat, notes_chat = f"library-{uuid.uuid4().hex[:8]}", f"notes-{uuid.uuid4().hex[:8]}"
    with WorkerProcess(temporal_server, APP, queue, tmp_path / "worker.log", env):
        assert (await library.send(library_chat, "read a.txt")).output == "Read and recorded."
        assert (await notes.send(notes_chat, "note it")).output == "Noted."

    assert f"Bearer {FILES_TOKEN}" in files_mcp.authorizations  # the worker did send it
    output_types = [i["type"] for i in model.requests[1]["input"]]
    assert "mcp_call" not in output_types  # chained by id: the MCP call stayed on the server
    kept = {}
    for chat, agent in ((library_chat, "librarian"), (notes_chat, "notetaker")):
        history = await agents_client.get_workflow_handle(chat).fetch_history()
        assert any(a.startswith(agent) for a in activities(history))
        kept[f"{agent}'s history"] = raw(history).decode(errors="replace")
    assert "contents of a.txt" in kept["librarian's history"]  # the scan sees the payloads
    assert_kept_nowhere([MODEL_KEY, FILES_TOKEN, NOTES_TOKEN], kept)
