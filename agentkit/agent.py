"""Agent: an immutable configuration that runs the tool loop over the Responses API."""

from __future__ import annotations

import asyncio
import functools
import inspect
import ssl
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Generic, TypeVar

import openai

from agentkit.context import RunContext
from agentkit.errors import ConfigurationError, UserError
from agentkit.model import RetryPolicy, resolve_client
from agentkit.run.conversation import Conversation, Item
from agentkit.run.events import FinalResult, RunEvent
from agentkit.run.loop import RunSetup, iterate
from agentkit.run.output import OutputSpec
from agentkit.run.request import Chaining, RequestPlan, to_items
from agentkit.run.result import RunResult
from agentkit.run.settings import ModelSettings
from agentkit.run.state import RunState
from agentkit.tools import FunctionTool, MCPServer, as_tool
from agentkit.tools.mcp import MCPServers

OutputT = TypeVar("OutputT")
Instructions = str | Callable[[RunContext[Any]], str | Awaitable[str]] | None
Client = openai.AsyncOpenAI | openai.OpenAI | None


@dataclass(frozen=True, kw_only=True, eq=False)
class Agent(Generic[OutputT]):
    """A model, its instructions and tools, and how turns are chained.

    Args:
        model: The model (on Azure: the deployment name).
        instructions: A string, or a (sync or async) function of the run context.
        tools: `@tool` functions, plain functions, `FunctionTool`s, or MCP servers
            (`MCPServerStdio`, `MCPServerHTTP`) whose tools are offered as function tools;
            servers connect per `async with agent:` block, else per run.
        output_type: `str` (default), or a pydantic model, TypedDict, dataclass or primitive
            the final answer must parse into (sent as a strict `json_schema` text format).
        store: Whether the service stores responses; `False` means fully stateless runs.
        chaining: "previous_response_id" (default with store) sends only new items;
            "items" (the only choice without store) sends the whole transcript by value.
        max_turns: Model calls allowed per run before `MaxTurnsExceeded`.
        output_retries: How often an answer that fails `output_type` is sent back to fix.
        tool_concurrency: How many tool calls of one turn run at once.
    """

    model: str
    instructions: Instructions = None
    tools: Sequence[FunctionTool | Callable[..., Any] | MCPServer] = ()
    output_type: type[OutputT] | Any = str
    settings: ModelSettings = field(default_factory=ModelSettings)
    store: bool = True
    chaining: Chaining | None = None
    max_turns: int = 10
    client: Client = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    output_retries: int = 2
    tool_concurrency: int = 8
    _chaining_given: Chaining | None = field(init=False, repr=False)
    _tools: dict[str, FunctionTool] = field(init=False, repr=False)
    _mcp: MCPServers = field(init=False, repr=False)
    _output: OutputSpec = field(init=False, repr=False)
    _plan: RequestPlan = field(init=False, repr=False)
    _clients: weakref.WeakKeyDictionary[
        asyncio.AbstractEventLoop, tuple[openai.AsyncOpenAI, bool]
    ] = field(init=False, repr=False, default_factory=weakref.WeakKeyDictionary)

    def __post_init__(self) -> None:
        chaining = self.chaining or ("previous_response_id" if self.store else "items")
        if chaining not in ("previous_response_id", "items"):
            raise ConfigurationError(
                f"chaining must be 'previous_response_id' or 'items', not {chaining!r}"
            )
        if chaining == "previous_response_id" and not self.store:
            raise ConfigurationError(
                "chaining='previous_response_id' needs store=True: with store=False nothing is "
                "kept by the service, so turns are chained by sending the items."
            )
        if self.max_turns < 1:
            raise ConfigurationError("max_turns must be at least 1")
        servers = [t for t in self.tools if isinstance(t, MCPServer)]
        tools = [as_tool(t) for t in self.tools if not isinstance(t, MCPServer)]
        by_name = {t.name: t for t in tools}
        awaiting = [t.name for t in tools if t.needs_approval is not False]
        if awaiting:
            raise ConfigurationError(
                f"tools {awaiting} need approval, which this version of the Agent cannot ask "
                "for yet; refusing to run them unapproved."
            )
        if len(by_name) != len(tools):
            raise ConfigurationError("two tools share a name; give one of them name=...")
        output = OutputSpec.for_type(self.output_type)
        plan = RequestPlan(
            model=self.model,
            tools=tuple(t.to_param() for t in tools),
            text_format=output.text_format,
            settings=self.settings.body_fields(),
            store=self.store,
            chaining=chaining,
        )
        object.__setattr__(self, "_chaining_given", self.chaining)
        object.__setattr__(self, "chaining", chaining)
        object.__setattr__(self, "_tools", by_name)
        object.__setattr__(self, "_mcp", MCPServers(servers, reserved=by_name))
        object.__setattr__(self, "_output", output)
        object.__setattr__(self, "_plan", plan)

    def clone(self, **changes: Any) -> Agent[Any]:
        """A copy with some settings changed (the agent itself never changes).

        A default `chaining` is chosen again from the copy's `store`.
        """
        changes.setdefault("chaining", self._chaining_given)
        return replace(self, **changes)

    # --- running ---------------------------------------------------------------------------

    async def run(
        self,
        input: str | list[Item],
        *,
        conversation: Conversation | None = None,
        context: Any = None,
        max_turns: int | None = None,
    ) -> RunResult[OutputT]:
        """Run the tool loop until the model gives a final answer."""
        result: RunResult[OutputT] | None = None
        async for event in self._events(input, conversation, context, max_turns, stream=False):
            if isinstance(event, FinalResult):
                result = event.result
        assert result is not None
        return result

    def run_sync(
        self,
        input: str | list[Item],
        *,
        conversation: Conversation | None = None,
        context: Any = None,
        max_turns: int | None = None,
    ) -> RunResult[OutputT]:
        """`run` for synchronous code; not allowed inside a running event loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise UserError(
                "Agent.run_sync() was called inside a running event loop; use "
                "`await agent.run(...)` there instead."
            )

        async def main() -> RunResult[OutputT]:
            self._fresh_client_for_this_loop()
            try:
                return await self.run(
                    input, conversation=conversation, context=context, max_turns=max_turns
                )
            finally:
                await self.aclose()

        return asyncio.run(main())

    async def stream(
        self,
        input: str | list[Item],
        *,
        conversation: Conversation | None = None,
        context: Any = None,
        max_turns: int | None = None,
    ) -> AsyncIterator[RunEvent]:
        """Run the tool loop, yielding typed events as they happen; the last is `FinalResult`."""
        async for event in self._events(input, conversation, context, max_turns, stream=True):
            yield event

    async def _events(
        self,
        input: str | list[Item],
        conversation: Conversation | None,
        context: Any,
        max_turns: int | None,
        *,
        stream: bool,
    ) -> AsyncIterator[RunEvent]:
        async with self._mcp.tools() as mcp_tools:
            plan, tools = self._plan, self._tools
            if mcp_tools:
                tools = {**tools, **mcp_tools}
                plan = replace(plan, tools=tuple(t.to_param() for t in tools.values()))
            setup = RunSetup(
                client=self._client(),
                plan=plan,
                tools=tools,
                output=self._output,
                instructions=self._instructions,
                deps=context,
                max_turns=max_turns or self.max_turns,
                output_retries=self.output_retries,
                retry=self.retry,
                extra_headers=self.settings.extra_headers,
                tool_concurrency=self.tool_concurrency,
            )
            state = RunState.begin(conversation, to_items(input))
            async for event in iterate(setup, state, stream=stream):
                yield event

    async def _instructions(self, ctx: RunContext[Any]) -> str | None:
        if self.instructions is None or isinstance(self.instructions, str):
            return self.instructions
        value = self.instructions(ctx)
        if inspect.isawaitable(value):
            value = await value
        return str(value)

    # --- the client ------------------------------------------------------------------------

    def _client(self) -> openai.AsyncOpenAI:
        """One client per event loop: async HTTP connections can't cross loops."""
        loop = asyncio.get_running_loop()
        entry = self._clients.get(loop)
        if entry is None:
            entry = (resolve_client(self.client), not isinstance(self.client, openai.AsyncOpenAI))
            self._clients[loop] = entry
        return entry[0]

    def _fresh_client_for_this_loop(self) -> None:
        """Give a user's async client a private connection pool for a `run_sync` loop.

        Its own pool belongs to whichever loop used it first; reusing it from the new loop
        `asyncio.run` makes would fail with "Event loop is closed".
        """
        if isinstance(self.client, openai.AsyncOpenAI):
            http = openai.DefaultAsyncHttpxClient(verify=_tls_context())
            private = self.client.copy(http_client=http, max_retries=0)
            self._clients[asyncio.get_running_loop()] = (private, True)

    async def aclose(self) -> None:
        """Close the HTTP client agentkit made for this event loop (a user's client stays open)."""
        entry = self._clients.pop(asyncio.get_running_loop(), None)
        if entry is not None and entry[1]:
            await entry[0].close()

    async def __aenter__(self) -> Agent[OutputT]:
        """Connect the MCP servers once for every run inside the block."""
        await self._mcp.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._mcp.close()
        finally:
            await self.aclose()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One default TLS context for the private pools `run_sync` makes (each costs ~0.1 s)."""
    return ssl.create_default_context()
