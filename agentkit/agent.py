"""Agent: an immutable configuration that runs the tool loop over the Responses API."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import ssl
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Generic, TypeVar

import openai

from agentkit.context import RunContext
from agentkit.errors import ConfigurationError, UserError
from agentkit.model import RetryPolicy, resolve_client
from agentkit.run.approvals import ApprovalPolicy
from agentkit.run.containers import ContainerKeeper
from agentkit.run.conversation import Conversation, Item
from agentkit.run.events import FinalResult, RunEvent
from agentkit.run.files import AgentDownloader, written_files
from agentkit.run.loop import RunSetup, iterate
from agentkit.run.output import OutputSpec
from agentkit.run.request import Chaining, RequestPlan, to_items
from agentkit.run.result import RunResult
from agentkit.run.settings import ModelSettings
from agentkit.run.state import RunState
from agentkit.tools import FunctionTool, MCPServer, as_tool
from agentkit.tools.hosted import CodeInterpreter, HostedTool, RemoteMCP, fingerprint
from agentkit.tools.mcp import MCPServers

OutputT = TypeVar("OutputT")
Instructions = str | Callable[[RunContext[Any]], str | Awaitable[str]] | None
Client = openai.AsyncOpenAI | openai.OpenAI | None
Input = str | list[Item] | RunState


@dataclass(frozen=True, kw_only=True, eq=False)
class Agent(Generic[OutputT]):
    """A model, its instructions and tools, and how turns are chained.

    Args:
        model: The model (on Azure: the deployment name).
        instructions: A string, or a (sync or async) function of the run context.
        tools: `@tool` functions, plain functions, `FunctionTool`s, hosted tools the service
            runs (`RemoteMCP`), or MCP servers (`MCPServerStdio`, `MCPServerHTTP`) whose tools
            are offered as function tools; servers connect per `async with agent:` block,
            else per run.
        output_type: `str` (default), or a pydantic model, TypedDict, dataclass or primitive
            the final answer must parse into (sent as a strict `json_schema` text format).
        store: Whether the service stores responses; `False` means fully stateless runs.
        chaining: "previous_response_id" (default with store) sends only new items;
            "items" (the only choice without store) sends the whole transcript by value.
        max_turns: Model calls allowed per run before `MaxTurnsExceeded`.
        output_retries: How often an answer that fails `output_type` is sent back to fix.
        tool_concurrency: How many tool calls of one turn run at once.
        approval: Decides the calls that need approval (hosted MCP approval requests, tools
            with `needs_approval`): a sync or async function of an `ApprovalRequest` returning
            `approve()`, `reject(reason)`, or None to leave it for later. Without one, or when
            it returns None, the run pauses (see `RunResult.paused` and `Agent.resume`).
    """

    model: str
    instructions: Instructions = None
    tools: Sequence[FunctionTool | Callable[..., Any] | HostedTool | MCPServer] = ()
    output_type: type[OutputT] | Any = str
    settings: ModelSettings = field(default_factory=ModelSettings)
    store: bool = True
    chaining: Chaining | None = None
    max_turns: int = 10
    client: Client = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    output_retries: int = 2
    tool_concurrency: int = 8
    approval: ApprovalPolicy | None = None
    _chaining_given: Chaining | None = field(init=False, repr=False)
    _tools: dict[str, FunctionTool] = field(init=False, repr=False)
    _mcp: MCPServers = field(init=False, repr=False)
    _output: OutputSpec = field(init=False, repr=False)
    _plan: RequestPlan = field(init=False, repr=False)
    _tools_hash: str = field(init=False, repr=False)
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
        hosted = [t for t in self.tools if isinstance(t, HostedTool)]
        tools = [as_tool(t) for t in self.tools if not isinstance(t, MCPServer | HostedTool)]
        by_name = {t.name: t for t in tools}
        if len(by_name) != len(tools):
            raise ConfigurationError("two tools share a name; give one of them name=...")
        _check_hosted(hosted)
        _container_keeper(hosted)
        output = OutputSpec.for_type(self.output_type)
        params = (*(t.to_param() for t in tools), *(t.to_param() for t in hosted))
        plan = RequestPlan(
            model=self.model,
            tools=params,
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
        object.__setattr__(self, "_tools_hash", fingerprint(params))

    def clone(self, **changes: Any) -> Agent[Any]:
        """A copy with some settings changed (the agent itself never changes).

        A default `chaining` is chosen again from the copy's `store`.
        """
        changes.setdefault("chaining", self._chaining_given)
        return replace(self, **changes)

    # --- running ---------------------------------------------------------------------------

    async def run(
        self,
        input: Input,
        *,
        conversation: Conversation | None = None,
        context: Any = None,
        max_turns: int | None = None,
    ) -> RunResult[OutputT]:
        """Run the tool loop until the model gives a final answer (or the run pauses).

        `input` is a string, a list of input items, or a paused `RunState` to resume.
        """
        result: RunResult[OutputT] | None = None
        async for event in self._events(input, conversation, context, max_turns, stream=False):
            if isinstance(event, FinalResult):
                result = event.result
        assert result is not None
        return result

    def run_sync(
        self,
        input: Input,
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

    async def resume(
        self, state: RunState, *, context: Any = None, max_turns: int | None = None
    ) -> RunResult[OutputT]:
        """Continue a paused run once its approvals are decided (`state.approve(id)` ...).

        Requests still undecided go to the `approval` policy, else the run pauses again.
        Raises `ResumeError` if the state is not paused, was resumed already, or the agent's
        tools differ from those the run paused with.
        """
        return await self.run(state, context=context, max_turns=max_turns)

    def resume_sync(
        self, state: RunState, *, context: Any = None, max_turns: int | None = None
    ) -> RunResult[OutputT]:
        """`resume` for synchronous code."""
        return self.run_sync(state, context=context, max_turns=max_turns)

    async def stream(
        self,
        input: Input,
        *,
        conversation: Conversation | None = None,
        context: Any = None,
        max_turns: int | None = None,
    ) -> AsyncIterator[RunEvent]:
        """Run the tool loop, yielding typed events as they happen; the last is `FinalResult`."""
        events = self._events(input, conversation, context, max_turns, stream=True)
        async with contextlib.aclosing(events):  # an abandoned stream ends the run right away
            async for event in events:
                yield event

    async def _events(
        self,
        input: Input,
        conversation: Conversation | None,
        context: Any,
        max_turns: int | None,
        *,
        stream: bool,
    ) -> AsyncGenerator[RunEvent, None]:
        async with self._mcp.tools() as mcp_tools:
            state = self._start(input, conversation)  # once the tools are there to check
            plan, tools = self._plan, self._tools
            if mcp_tools:
                tools = {**tools, **mcp_tools}
                plan = replace(
                    plan, tools=plan.tools + tuple(t.to_param() for t in mcp_tools.values())
                )
            started = time.time()
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
                extra_headers=_request_headers(self.tools, self.settings.extra_headers),
                tool_concurrency=self.tool_concurrency,
                approval=self.approval,
                tools_hash=self._tools_hash,
                containers=_container_keeper(self.tools),
            )
            try:
                async for event in iterate(setup, state, stream=stream):
                    if isinstance(event, FinalResult):  # its files download through this agent
                        downloader = AgentDownloader(self)
                        earlier = event.result.conversation.items[: state.start]
                        written = await written_files(
                            setup.client, event.result.new_items, started, earlier
                        )
                        event = FinalResult(
                            replace(event.result, _downloader=downloader, _written=written)
                        )
                    yield event
            except BaseException:
                if (
                    isinstance(input, RunState)
                    and state.paused
                    and state.pause_id == input.pause_id
                ):
                    input.unclaim()  # nothing ran or was sent yet: the pause stays resumable
                raise

    def _start(self, input: Input, conversation: Conversation | None) -> RunState:
        """A new run's state, or a paused run's state claimed for resuming (checked first)."""
        if not isinstance(input, RunState):
            return RunState.begin(conversation, to_items(input))
        if conversation is not None:
            raise UserError("A resumed run continues its own conversation: pass no conversation=.")
        return input.claim(self._tools_hash)

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


def _request_headers(tools: Sequence[Any], settings: Mapping[str, str]) -> dict[str, str]:
    """Headers hosted tools need (e.g. Azure's image deployment), then the settings' own."""
    needed = [t.request_headers() for t in tools if isinstance(t, HostedTool)]
    return {k: v for headers in [*needed, settings] for k, v in headers.items()}


def _check_hosted(hosted: list[HostedTool]) -> None:
    labels = [t.server_label for t in hosted if isinstance(t, RemoteMCP)]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ConfigurationError(
            f"two RemoteMCP tools share the server_label {duplicates[0]!r}; labels must differ"
        )


def _container_keeper(tools: Sequence[Any]) -> ContainerKeeper | None:
    """What keeps a run's code interpreter container (one code interpreter per agent)."""
    found = [t for t in tools if isinstance(t, CodeInterpreter)]
    if len(found) > 1:
        raise ConfigurationError("an agent takes one CodeInterpreter tool, not several")
    return ContainerKeeper(found[0]) if found else None


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One default TLS context for the private pools `run_sync` makes (each costs ~0.1 s)."""
    return ssl.create_default_context()
