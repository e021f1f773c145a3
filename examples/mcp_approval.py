"""Remote MCP with approvals: the run pauses, its state goes to JSON, a person approves, it resumes.

The agent gives the model a remote MCP server (`RemoteMCP`), which the Responses service
calls itself. Each call waits for approval (`require_approval="always"`, the default). With no
approval policy the run pauses; its `RunState` is plain JSON (no header, no key in it) that can
be approved and resumed later, in another process. With a policy, the run never pauses.

Offline, this starts a tiny MCP server of its own (streamable HTTP on 127.0.0.1) and agentkit's
local Responses server, which plays the service. Against Azure or OpenAI, set MCP_SERVER_URL
to a server the service can reach.

Run it: `python examples/mcp_approval.py`
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from mcp.server.mcpserver import MCPServer

from agentkit import Agent, ApprovalRequest, Decision, RemoteMCP, RunState, local_fallback, reject

TOKEN = "Bearer example-secret-token"  # what the MCP server expects: a secret, never saved
notes: list[str] = []


def notes_server() -> MCPServer:
    app: MCPServer = MCPServer("notes", log_level="WARNING")

    @app.tool(description="Add a note to the user's notebook.")
    def add_note(text: str) -> str:
        notes.append(text)
        return f"noted: {text}"

    return app


@contextmanager
def serve_mcp() -> Iterator[str]:
    """Serve the notes MCP server on a free 127.0.0.1 port for the block; yields its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = notes_server().streamable_http_app()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


async def main(mcp_url: str) -> None:
    notebook = RemoteMCP(
        server_label="notes",
        server_url=mcp_url,
        headers={"Authorization": TOKEN},  # sent with each request, kept nowhere else
        server_description="The user's notebook.",
    )
    agent = Agent(model="gpt-4o", tools=[notebook])

    # 1. No approval policy: the run pauses before the server is called.
    result = await agent.run('Please add a note: "buy milk"')
    print("paused:", result.paused)
    for request in result.pending_approvals:
        print(f"  waiting for approval: {request.server_label}.{request.tool}{request.arguments}")
    saved = result.state.to_json()  # store it anywhere: a database row, a file, a queue
    print("secret in the saved state:", TOKEN in saved)

    # 2. Later, maybe in another process: load, decide, resume.
    state = RunState.from_json(saved)
    for request in state.pending_approvals:
        state.approve(request.id)
    resumed = await agent.resume(state)
    print("assistant:", resumed.output)
    print("notes:", notes)

    # 3. A policy decides as calls come: here every call is refused, with a reason.
    def policy(request: ApprovalRequest) -> Decision:
        return reject(f"no more notes today, {request.tool} is off")

    strict = agent.clone(approval=policy)
    refused = await strict.run('Please add a note: "call Bob"')
    print("assistant:", refused.output)
    print("notes:", notes)


if __name__ == "__main__":
    if local_fallback():
        print("(no endpoint configured: agentkit's embedded local server answers)")
    with serve_mcp() as url:
        asyncio.run(main(os.environ.get("MCP_SERVER_URL", url)))
