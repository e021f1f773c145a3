"""`agentkit run MODULE:ATTR "prompt"`: one run, printing the answer or the whole result as JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic_core import to_jsonable_python

from agentkit.errors import AgentkitError
from agentkit.run.result import RunResult
from agentkit.terminal.target import load_agent

__all__ = ["PAUSED_EXIT", "result_json", "run_once"]

PAUSED_EXIT = 3
"""The exit status of a run that stopped to wait for approvals (nobody is there to give them)."""


def run_once(target: str, prompt: str, *, as_json: bool) -> int:
    """Run the agent once on `prompt`; print the answer (or `--json`: the whole result)."""
    try:
        agent = load_agent(target)
    except AgentkitError as error:
        print(f"agentkit run: {error}", file=sys.stderr)
        return 2
    try:
        result = agent.run_sync(prompt)
    except AgentkitError as error:
        print(f"agentkit run: {error}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(result_json(result), indent=2, ensure_ascii=False))
    elif not result.paused:
        output = result.output
        print(output if isinstance(output, str) else json.dumps(to_jsonable_python(output)))
    if result.paused:
        names = ", ".join(f"{r.tool} ({r.id})" for r in result.pending_approvals)
        print(f"agentkit run: the run paused for approval of {names}", file=sys.stderr)
        return PAUSED_EXIT
    return 0


def result_json(result: RunResult[Any]) -> dict[str, Any]:
    """Everything a `RunResult` holds, as JSON-ready data (the output as its JSON form)."""
    return {
        "output": None if result.paused else to_jsonable_python(result.output),
        "output_text": result.output_text,
        "paused": result.paused,
        "pending_approvals": [request.to_dict() for request in result.pending_approvals],
        "new_items": result.new_items,
        "response_ids": result.response_ids,
        "usage": result.usage.to_dict(),
        "files": [
            {"container_id": f.container_id, "file_id": f.file_id, "filename": f.filename}
            for f in result.files
        ],
        "conversation": result.conversation.to_dict(),
        "state": result.state.to_dict(),
    }
