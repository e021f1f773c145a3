"""Lifecycle hooks: one small class whose methods a run calls at its steps, for logging and metrics.

Subclass `RunHooks`, override what you need (each method is async and does nothing by
default), and give an instance to the agent you run: `Agent(..., hooks=MyHooks())`. The hooks
of the agent a run starts with see the whole run, across handoffs; an agent used as a tool
runs with its own hooks. A hook that raises fails the run (as a bug in the program would).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentkit.context import RunContext
    from agentkit.run.approvals import ApprovalRequest, Decision
    from agentkit.run.calls import ToolCall
    from agentkit.run.result import RunResult


class RunHooks:
    """What a run tells at each step. `agent` is the name of the agent answering then."""

    async def on_run_start(self, ctx: RunContext[Any], agent: str) -> None:
        """A run started, or a stopped one resumed (`ctx.run_id` says which run); `agent` is
        the agent it was started or resumed with."""

    async def on_run_end(
        self, ctx: RunContext[Any], result: RunResult[Any] | None, error: BaseException | None
    ) -> None:
        """A run ended: with a result (finished, or paused for approvals) or an error."""

    async def on_model_start(
        self, ctx: RunContext[Any], agent: str, request: dict[str, Any]
    ) -> None:
        """A model call is about to be sent; `request` is its body (do not change it)."""

    async def on_model_end(
        self, ctx: RunContext[Any], agent: str, response: dict[str, Any]
    ) -> None:
        """A model call finished; `response` is the Response body (with `usage`)."""

    async def on_tool_start(self, ctx: RunContext[Any], agent: str, call: ToolCall) -> None:
        """A function tool is about to run (`ctx.call_id` is the call's id)."""

    async def on_tool_end(
        self, ctx: RunContext[Any], agent: str, call: ToolCall, output: str
    ) -> None:
        """A function tool finished; `output` is what the model will read."""

    async def on_handoff(self, ctx: RunContext[Any], from_agent: str, to_agent: str) -> None:
        """The conversation was handed from one agent to another."""

    async def on_approval(
        self, ctx: RunContext[Any], request: ApprovalRequest, decision: Decision | None
    ) -> None:
        """A call needs approval (`decision` None), or its approval was decided."""
