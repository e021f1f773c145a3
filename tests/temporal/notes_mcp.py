"""A tiny MCP server over stdio for the Temporal tests: `add_note` answers with the note.

It refuses to start without `NOTES_TOKEN` in its environment (a secret the worker gives it), so a
tool call that succeeds proves the worker, not the workflow, ran the session.
"""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import MCPServer

app: MCPServer = MCPServer("notes", log_level="WARNING")


@app.tool(description="Add a note to the user's notebook.")
def add_note(text: str) -> str:
    return f"noted: {text}"


if __name__ == "__main__":
    if not os.environ.get("NOTES_TOKEN"):
        sys.exit("NOTES_TOKEN is not set")
    app.run()
