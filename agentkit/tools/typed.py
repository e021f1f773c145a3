"""A function tool whose arguments are the fields of a pydantic model (agents as tools, handoffs)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from pydantic import BaseModel

from agentkit.context import RunContext
from agentkit.tools.function import FunctionTool

Run = Callable[[RunContext[Any], dict[str, Any]], Awaitable[str]]


def typed_tool(name: str, description: str, input_type: type[BaseModel], run: Run) -> FunctionTool:
    """A strict tool taking `input_type`'s fields; `run` gets the run context and the
    validated fields (as python values), and returns what the model reads."""

    async def call(ctx: RunContext[Any], **fields: Any) -> str:
        return await run(ctx, fields)

    context = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = [context.replace(annotation=RunContext)]
    for field_name, info in input_type.model_fields.items():
        params.append(
            inspect.Parameter(
                field_name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[info.annotation, info],
                default=inspect.Parameter.empty if info.is_required() else info.default,
            )
        )
    call.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return FunctionTool.from_function(call, name=name, description=description)
