"""The activities of one `TemporalAgent`, as its workers run them: model calls, tool calls and
the listing of client-side MCP tools.

They run on a copy of the agent whose own retries are off (Temporal's retry policy replaces
them) and whose background responses outlive a worker that stops. The agent's client, its
MCP sessions and every credential exist only here, in the worker: a session opens at the
first call that needs it and stays open for the worker's life.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

import pydantic
from temporalio import activity
from temporalio.exceptions import ApplicationError

from agentkit.agent import Agent
from agentkit.context import RunContext
from agentkit.errors import ToolError
from agentkit.guardrails import GuardrailKind, Verdict
from agentkit.model import RetryPolicy, resolve_client, wire
from agentkit.model.call import Background
from agentkit.temporal import mcp
from agentkit.temporal.failures import tool_failure
from agentkit.temporal.heartbeat import Heartbeat
from agentkit.temporal.model_activity import call_model
from agentkit.temporal.payloads import Body, GuardrailCall, ModelCall, ToolCall, with_secrets
from agentkit.tools import FunctionTool, MCPServer, unknown_tool_output
from agentkit.tools.function import ToolOutput
from agentkit.tools.hosted import HostedTool


@dataclass(frozen=True)
class ActivityNames:
    """The activities' names: durable, so the agent's name must not change while runs are in
    flight."""

    model: str
    tool: str
    mcp_tools: str
    guardrail: str

    @classmethod
    def of(cls, name: str) -> ActivityNames:
        return cls(
            f"agentkit.{name}.model",
            f"agentkit.{name}.tool",
            f"agentkit.{name}.mcp_tools",
            f"agentkit.{name}.guardrail",
        )


class WorkerSide:
    """The agent as its workers run it."""

    def __init__(
        self, agent: Agent[Any, Any], names: ActivityNames, typed: Callable[[Any], Any]
    ) -> None:
        self.agent = agent.clone(retry=RetryPolicy(max_attempts=1), background=_handed_over(agent))
        self.names = names
        self.typed = typed
        self.hosted = [t.to_param() for t in agent.tools if isinstance(t, HostedTool)]
        self.has_mcp = any(isinstance(t, MCPServer) for t in agent.tools)
        own = self.agent.setup({}, None, None, model=_no_model)
        self.own_tools = own.tools
        self.guardrails = {
            (g.kind, g.name): g for g in own.guardrails.input + own.guardrails.output
        }
        self.output = pydantic.TypeAdapter[Any](cast(Any, agent.output_type or str))
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Sessions] = (
            weakref.WeakKeyDictionary()
        )

    def activities(self) -> list[Callable[..., Any]]:
        async def model(call: ModelCall) -> Body:
            return await self.call_model(call)

        async def tool(call: ToolCall) -> ToolOutput:
            return await self.call_tool(call)

        async def mcp_tools() -> list[mcp.Described]:
            return await self.list_mcp_tools()

        async def guardrail(call: GuardrailCall) -> Verdict:
            return await self.check(call)

        found: list[Callable[..., Any]] = [
            activity.defn(name=self.names.model)(model),
            activity.defn(name=self.names.tool)(tool),
        ]
        if self.has_mcp:
            found.append(activity.defn(name=self.names.mcp_tools)(mcp_tools))
        if self.guardrails:
            found.append(activity.defn(name=self.names.guardrail)(guardrail))
        return found

    async def call_model(self, call: ModelCall) -> Body:
        body = with_secrets(call.body, self.hosted)
        background = self.agent.background is not False
        return await call_model(
            self.agent.model_caller(), body, background=background, cancel=self._cancel
        )

    async def call_tool(self, call: ToolCall) -> ToolOutput:
        async with Heartbeat().running():
            tools = await self._tools(call.tool)
            tool = tools.get(call.tool)
            if tool is None:
                return unknown_tool_output(call.tool, tools)
            ctx = RunContext(
                self.typed(call.context),
                turn=call.turn,
                model=call.model,
                run_id=call.run_id,  # the workflow's: the same key whichever attempt runs it
                call_id=call.call_id,
            )
            item = {
                "type": "function_call",
                "name": call.tool,
                "call_id": call.call_id,
                "arguments": call.arguments,
            }
            # The agent's tool runner: its tool guardrails and hooks run here, with the tool.
            runner = self.agent.setup(tools, ctx.deps, None, model=_no_model).tool_runner
            try:
                return await runner(tool, ctx, item)
            except ToolError as error:
                raise tool_failure(error) from None

    async def check(self, call: GuardrailCall) -> Verdict:
        """Run one input or output guardrail of the agent, as it would run outside Temporal."""
        guardrail = self.guardrails.get((cast(GuardrailKind, call.kind), call.guardrail))
        if guardrail is None:  # a worker with other code than the workflow's: fail loudly
            raise ApplicationError(
                f"This worker's agent has no {call.kind} guardrail {call.guardrail!r}",
                non_retryable=True,
            )
        value = call.value if call.kind == "input" else self.output.validate_python(call.value)
        ctx = RunContext(
            self.typed(call.context), turn=call.turn, model=call.model, run_id=call.run_id
        )
        async with Heartbeat().running():
            return await guardrail.verdict(ctx, value)

    async def list_mcp_tools(self) -> list[mcp.Described]:
        async with Heartbeat().running(), self._mcp() as tools:
            return mcp.described(tools)

    async def _tools(self, name: str) -> Mapping[str, FunctionTool]:
        """The agent's tools, with its MCP servers' when `name` is not one of its own."""
        if name in self.own_tools or not self.has_mcp:
            return self.own_tools
        async with self._mcp() as tools:
            return {**self.own_tools, **tools}

    @contextlib.asynccontextmanager
    async def _mcp(self) -> AsyncIterator[dict[str, FunctionTool]]:
        """The MCP servers' tools, over sessions this worker keeps open (see `close`)."""
        sessions = self._sessions.setdefault(asyncio.get_running_loop(), _Sessions())
        async with sessions.lock:
            if not sessions.open:
                await sessions.stack.enter_async_context(self.agent)
                sessions.open = True
        async with self.agent.mcp_tools() as tools:
            yield tools

    async def close(self) -> None:
        """Close this event loop's MCP sessions and model client (the worker is stopping)."""
        sessions = self._sessions.pop(asyncio.get_running_loop(), None)
        if sessions is not None:
            await sessions.stack.aclose()
        await self.agent.aclose()

    async def _cancel(self, response_id: str) -> None:
        """Cancel a background response the workflow no longer waits for, briefly."""
        client = resolve_client(self.agent.client)
        try:
            async with asyncio.timeout(self.agent.timeouts.connect or 10.0):
                await wire.cancel(client, response_id, headers=self.agent.settings.extra_headers)
        except Exception as error:  # the response ends on its own; nothing waits for it
            activity.logger.warning(
                "Could not cancel response %s: %s", response_id, type(error).__name__
            )
        finally:
            if self.agent.client is None:
                await client.close()


def _handed_over(agent: Agent[Any, Any]) -> Background | bool:
    """The agent's background settings, with the response left running when a worker stops
    (the retried activity reattaches to it)."""
    if agent.background is False:
        return False
    settings = agent.background if isinstance(agent.background, Background) else Background()
    return replace(settings, cancel_on_abandon=False)


async def _no_model(
    body: Body, *, attachment: Any, on_attach: Any
) -> AsyncIterator[Any]:  # pragma: no cover - only the setup's tools are used
    raise AssertionError("tool lookup makes no model call")
    yield


class _Sessions:
    """One event loop's MCP sessions: opened once, by whichever call needs them first."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.stack = contextlib.AsyncExitStack()
        self.open = False
