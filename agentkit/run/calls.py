"""Running a turn's function calls: concurrently, bounded, errors as outputs for the model."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentkit.context import RunContext
from agentkit.errors import ToolError
from agentkit.run.conversation import Item
from agentkit.run.subruns import SubRunPaused
from agentkit.tools import FunctionTool, unknown_tool_output
from agentkit.tools.function import ToolOutput

ToolRunner = Callable[[FunctionTool, RunContext[Any], Item], Awaitable[ToolOutput]]
"""Runs one call of a tool with its per-call context: in process by default (`run_tool`), an
activity on Temporal."""
OnOutput = Callable[[Item], Awaitable[None]]


@dataclass(frozen=True)
class ToolCall:
    """A function call the model made, as hooks and guardrails see it."""

    name: str
    call_id: str
    arguments: str
    """The arguments exactly as the model sent them (JSON)."""

    @property
    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict (`{}` when they are not a JSON object)."""
        try:
            value = json.loads(self.arguments) if self.arguments else {}
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @classmethod
    def of(cls, item: Item) -> ToolCall:
        return cls(item["name"], item["call_id"], item["arguments"])


async def run_tool(tool: FunctionTool, ctx: RunContext[Any], call: Item) -> ToolOutput:
    """Run one call here, in this process."""
    return await tool.output(ctx, call["arguments"], call_id=call["call_id"])


async def run_calls(
    calls: list[Item],
    tools: Mapping[str, FunctionTool],
    ctx: RunContext[Any],
    concurrency: int,
    *,
    runner: ToolRunner = run_tool,
    on_output: OnOutput | None = None,
) -> list[Item | SubRunPaused]:
    """A `function_call_output` item for each call, in the calls' order (or, for a call whose
    sub-run paused for approvals, its `SubRunPaused`).

    `on_output` is awaited with each output as soon as its call finishes (checkpoints record
    it there, so a resumed run never runs that call again).
    """
    limit = asyncio.Semaphore(concurrency)

    async def one(call: Item) -> Item | SubRunPaused:
        tool = tools.get(call["name"])
        if tool is None:
            output = function_output(call["call_id"], unknown_tool_output(call["name"], tools))
        else:
            async with limit:
                per_call = dataclasses.replace(ctx, call_id=call["call_id"])
                try:
                    output = function_output(call["call_id"], await runner(tool, per_call, call))
                except SubRunPaused as paused:  # the other calls go on; the run pauses after
                    return paused
        if on_output is not None:
            await on_output(output)
        return output

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(call)) for call in calls]
    except BaseExceptionGroup as failures:
        error = _first(failures)
        raise error from error.__cause__  # keep the tool's own exception as the cause
    return [task.result() for task in tasks]


def function_output(call_id: str, output: ToolOutput) -> Item:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return _first(error)
        if isinstance(error, ToolError):
            return error
    return group.exceptions[0]
