"""Running a turn's function calls: concurrently, bounded, errors as outputs for the model."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from agentkit.context import RunContext
from agentkit.errors import ToolError
from agentkit.run.conversation import Item
from agentkit.tools import FunctionTool, unknown_tool_output
from agentkit.tools.function import ToolOutput


async def run_calls(
    calls: list[Item],
    tools: Mapping[str, FunctionTool],
    ctx: RunContext[Any],
    concurrency: int,
) -> list[Item]:
    """A `function_call_output` item for each call, in the calls' order."""
    limit = asyncio.Semaphore(concurrency)

    async def one(call: Item) -> ToolOutput:
        tool = tools.get(call["name"])
        if tool is None:
            return unknown_tool_output(call["name"], tools)
        async with limit:
            return await tool.output(ctx, call["arguments"], call_id=call["call_id"])

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(call)) for call in calls]
    except BaseExceptionGroup as failures:
        error = _first(failures)
        raise error from error.__cause__  # keep the tool's own exception as the cause
    return [
        function_output(call["call_id"], task.result())
        for call, task in zip(calls, tasks, strict=True)
    ]


def function_output(call_id: str, output: ToolOutput) -> Item:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return _first(error)
        if isinstance(error, ToolError):
            return error
    return group.exceptions[0]
