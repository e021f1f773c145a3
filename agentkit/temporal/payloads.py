"""What crosses between a workflow and its activities: plain data, never a client or a secret.

Everything here is written into the workflow's history. A model call carries the request body
without the secret fields of hosted tools (the worker puts them back from its own agent), and
its answer comes back without the echoed `tools` and `instructions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentkit.tools.hosted import SECRET_FIELDS, public_param

Body = dict[str, Any]

ECHOED = ("tools", "instructions")
"""Fields a Response body echoes from its request: large, and a service may echo secrets."""


@dataclass(frozen=True)
class ModelCall:
    """One model call's request body, as the workflow built it (secrets left out)."""

    body: Body


@dataclass(frozen=True)
class ToolCall:
    """One function tool call and the run context its tool sees."""

    tool: str
    arguments: str
    call_id: str
    run_id: str
    turn: int
    model: str
    context: Any = None


@dataclass(frozen=True)
class GuardrailCall:
    """One input or output guardrail's check: the run's input text, or its final answer as
    JSON (the worker validates it into the agent's `output_type` again)."""

    guardrail: str
    kind: str
    value: Any
    run_id: str
    turn: int
    model: str
    context: Any = None


def without_secrets(body: Body) -> Body:
    """`body` with its tools' secret fields (MCP `headers`, `authorization`) left out."""
    tools = body.get("tools")
    if not tools or not any(SECRET_FIELDS & tool.keys() for tool in tools):
        return body
    return {**body, "tools": [public_param(tool) for tool in tools]}


def with_secrets(body: Body, hosted: list[dict[str, Any]]) -> Body:
    """`body` with the secret fields of its hosted MCP tools put back from `hosted` (the worker's
    own tool params), matched by server label."""
    secrets = {
        p["server_label"]: {k: p[k] for k in SECRET_FIELDS if k in p}
        for p in hosted
        if p.get("type") == "mcp" and SECRET_FIELDS & p.keys()
    }
    tools = body.get("tools")
    if not secrets or not tools:
        return body
    restored = [
        {**t, **secrets.get(t.get("server_label"), {})} if t.get("type") == "mcp" else t
        for t in tools
    ]
    return {**body, "tools": restored}


def answer(body: Body) -> Body:
    """The part of a Response body the run needs (what the activity returns into history)."""
    return {k: v for k, v in body.items() if k not in ECHOED}
