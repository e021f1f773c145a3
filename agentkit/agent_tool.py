"""Agents as tools: another agent's whole run behind one function tool.

The sub-run has its own conversation, model, tools and settings, and the calling run's
context (`deps`). Its usage is added to the calling run's; its errors become the tool call's
error output, like any tool's; when it pauses for approvals the calling run pauses too, in one
`RunState` that holds the sub-run's, and resuming that state (in any process) continues the
sub-run with the decisions taken on it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import pydantic_core
from pydantic import BaseModel, Field, create_model

from agentkit.context import RunContext
from agentkit.errors import RunError, ToolError
from agentkit.model.usage import Usage
from agentkit.run.result import RunResult
from agentkit.run.state import RunState
from agentkit.run.subruns import SubRunPaused, paused_sub_run
from agentkit.tools import FunctionTool
from agentkit.tools.typed import typed_tool

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.checkpoints.base import Checkpoints

OutputExtractor = Callable[[RunResult[Any]], str]


@functools.cache
def _agent_input() -> type[BaseModel]:
    """The default input of an agent tool: one string (made on first use, not at import)."""
    return create_model(
        "AgentInput", input=(str, Field(description="What to ask the agent, in full."))
    )


def agent_tool(
    agent: Agent[Any, Any],
    *,
    name: str | None = None,
    description: str | None = None,
    input_type: type[BaseModel] | None = None,
    output: OutputExtractor | None = None,
) -> FunctionTool:
    """A function tool that runs `agent` (see `Agent.as_tool`)."""
    tool_name = name or agent.name
    about = description or agent.description or f"Ask the {agent.name} agent."

    async def run(ctx: RunContext[Any], values: dict[str, Any]) -> str:
        if input_type is None:
            text = str(values["input"])
        else:
            text = input_type(**values).model_dump_json()
        result = await _sub_run(agent, ctx, text)
        return output(result) if output is not None else _text(result.output)

    return typed_tool(tool_name, about, input_type or _agent_input(), run)


async def _sub_run(agent: Agent[Any, Any], ctx: RunContext[Any], text: str) -> RunResult[Any]:
    """Run (or, after a pause, resume) the sub-run of this tool call."""
    parent: RunState | None = ctx._run
    paused = paused_sub_run(parent, ctx.call_id) if parent is not None else None
    counted = paused.usage if paused is not None else Usage()
    try:
        result = await _run_or_resume(agent, ctx, text, paused)
    except (RunError, ToolError) as error:
        if parent is not None and isinstance(error.state, RunState):
            parent.usage += _less(error.state.usage, counted)
        raise
    if parent is not None:
        parent.usage += _less(result.usage, counted)
    if result.paused:
        raise SubRunPaused(ctx.call_id, result.state)
    return result


async def _run_or_resume(
    agent: Agent[Any, Any], ctx: RunContext[Any], text: str, paused: RunState | None
) -> RunResult[Any]:
    """The sub-run. When the calling run is checkpointed, so is the sub-run, in the same store
    under a run id made from the call's idempotency key: after a crash, the call runs again
    and resumes its sub-run where it stopped (a finished one gives its result as it was), so
    the sub-run's tools never run twice either."""
    store: Checkpoints | None = ctx._store
    if store is None:
        if paused is not None:
            return await agent.resume(paused, context=ctx.deps)
        return await agent.run(text, context=ctx.deps)
    if paused is not None:
        return await agent.resume(paused, context=ctx.deps, checkpoints=store)
    run_id = f"{ctx.idempotency_key}/{agent.name}"
    if await store.load(run_id) is not None:
        return await agent.resume(run_id, context=ctx.deps, checkpoints=store)
    return await agent.run(text, context=ctx.deps, run_id=run_id, checkpoints=store)


def _less(total: Usage, counted: Usage) -> Usage:
    """What `total` used beyond `counted` (the part of a sub-run already added to its caller)."""
    return Usage(
        **{f.name: getattr(total, f.name) - getattr(counted, f.name) for f in fields(Usage)}
    )


def _text(output: Any) -> str:
    if isinstance(output, str):
        return output
    return pydantic_core.to_json(output).decode()


__all__ = ["agent_tool"]
