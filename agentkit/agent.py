"""Agent: an immutable configuration that runs the tool loop over the Responses API."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import ssl
import time
import weakref
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field, replace
from types import TracebackType, UnionType
from typing import Any, Generic, _SpecialForm

import openai
from pydantic import BaseModel
from typing_extensions import TypeVar

from agentkit.agent_tool import OutputExtractor, agent_tool
from agentkit.checkpoints.base import Checkpoints
from agentkit.context import RunContext
from agentkit.errors import ConfigurationError, UserError
from agentkit.guardrails import Guardrail, Guardrails, guarded
from agentkit.handoffs import Handoff, Team
from agentkit.hooks import RunHooks
from agentkit.model import RetryPolicy, Timeouts, resolve_client, wire
from agentkit.model.call import Attachment, Background, CallSettings, Finished, respond
from agentkit.run.approvals import ApprovalPolicy
from agentkit.run.begin import RunId, Start, begin
from agentkit.run.calls import ToolRunner, run_tool
from agentkit.run.containers import ContainerKeeper
from agentkit.run.conversation import Conversation, Item
from agentkit.run.events import FinalResult, RunEvent
from agentkit.run.files import AgentDownloader, written_files
from agentkit.run.handle import RunHandle, StateBox
from agentkit.run.loop import RunSetup, iterate, result
from agentkit.run.model_call import ModelCaller
from agentkit.run.output import OutputSpec
from agentkit.run.request import Chaining, RequestPlan, output_text
from agentkit.run.result import RunResult
from agentkit.run.settings import ModelSettings
from agentkit.run.state import RunState
from agentkit.run.steps import AgentRun, StepEnd
from agentkit.tools import FunctionTool, MCPServer, as_tool
from agentkit.tools.hosted import CodeInterpreter, HostedTool, RemoteMCP, fingerprint
from agentkit.tools.mcp import MCPServers
from agentkit.tracing import Observer, Tracing

DepsT = TypeVar("DepsT", default=Any)
"""The type of the `context` a run is given: tools' and instructions' `RunContext[DepsT]`."""
OutputT = TypeVar("OutputT", default=str)
"""The type of a run's `result.output`: the agent's `output_type`."""
T = TypeVar("T")
_NO_DEPS: Any = None  # typed Any so that an agent without `deps_type` is `Agent[Any, ...]`
Client = openai.AsyncOpenAI | openai.OpenAI | None
Input = str | list[Item] | RunState


@dataclass(frozen=True, kw_only=True, eq=False)
class Agent(Generic[DepsT, OutputT]):
    """A model, its instructions and tools, and how turns are chained.

    `Agent[Deps, Out]` to type checkers: `Out` is what `result.output` is (from
    `output_type`; `str` by default), `Deps` what `context=` a run takes (from `deps_type`).

    Args:
        model: The model (on Azure: the deployment name).
        instructions: A string, or a (sync or async) function of the run context.
        tools: `@tool` functions, plain functions, `FunctionTool`s, hosted tools the service
            runs (`RemoteMCP`), or MCP servers (`MCPServerStdio`, `MCPServerHTTP`) whose tools
            are offered as function tools; servers connect per `async with agent:` block,
            else per run.
        output_type: `str` (default), or a pydantic model, TypedDict, dataclass or primitive
            the final answer must parse into (sent as a strict `json_schema` text format).
            For a union or `Literal`, name the type for type checkers too:
            `Agent[None, int | None](output_type=int | None, ...)`.
        deps_type: The type of the `context` runs are given, for type checkers only: tools
            taking a `RunContext[Deps]` first and `context=` arguments are checked against it.
        store: Whether the service stores responses; `False` means fully stateless runs.
        chaining: "previous_response_id" (default with store) sends only new items;
            "items" (the default without store) sends the whole transcript by value;
            "conversation" keeps the turns in a service-side Conversation (created on the
            first run, or given: `conversation=Conversation.on_service("conv_...")`) and
            sends only new items, with or without store.
        max_turns: Model calls allowed per run before `MaxTurnsExceeded`.
        output_retries: How often an answer that fails `output_type` is sent back to fix.
        tool_concurrency: How many tool calls of one turn run at once.
        approval: Decides the calls that need approval (hosted MCP approval requests, tools
            with `needs_approval`): a sync or async function of an `ApprovalRequest` returning
            `approve()`, `reject(reason)`, or None to leave it for later. Without one, or when
            it returns None, the run pauses (see `RunResult.paused` and `Agent.resume`).
        background: Run each model call as a background response (`True`, or `Background`
            settings): streamed and resumed after drops and stalls (or polled), reattached
            after a crash, never created twice, cancelled when the run is. Needs `store`.
        timeouts: Deadlines for model calls (connect, read, stall, total); see `Timeouts`.
        name: What the agent is called: in transfer tools (`transfer_to_{name}`), as a tool,
            in `RunResult.agent`, spans and hooks. Agents a run can be handed to need distinct
            names.
        description: What the agent does, for the models of agents that hand over to it or
            call it as a tool.
        handoffs: Agents (or `handoff(...)`s) this agent may hand the conversation to; the
            model gets a transfer tool for each.
        guardrails: Input, output and tool guardrails (see `agentkit.guardrails`).
        hooks: Lifecycle hooks (a `RunHooks`) for the runs this agent starts.
        tracing: OpenTelemetry spans for its runs (on when an SDK is configured; see
            `Tracing`), or None for none.
    """

    model: str
    name: str = "agent"
    description: str | None = None
    instructions: str | Callable[[RunContext[DepsT]], str | Awaitable[str]] | None = None
    tools: Sequence[FunctionTool[DepsT] | Callable[..., Any] | HostedTool | MCPServer] = ()
    output_type: type[OutputT] | UnionType | _SpecialForm = str  # type: ignore[assignment]
    deps_type: type[DepsT] = _NO_DEPS
    settings: ModelSettings = field(default_factory=ModelSettings)
    store: bool = True
    chaining: Chaining | None = None
    max_turns: int = 10
    client: Client = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    output_retries: int = 2
    tool_concurrency: int = 8
    approval: ApprovalPolicy | None = None
    background: bool | Background = False
    timeouts: Timeouts = field(default_factory=Timeouts)
    handoffs: Sequence[Agent[Any, Any] | Handoff] = ()
    guardrails: Sequence[Guardrail] = ()
    hooks: RunHooks | None = None
    tracing: Tracing | None = field(default_factory=Tracing)
    handoffs_by_tool: Mapping[str, Handoff] = field(init=False, repr=False)
    _guardrails: Guardrails = field(init=False, repr=False)
    _chaining_given: Chaining | None = field(init=False, repr=False)
    _tools: dict[str, FunctionTool[Any]] = field(init=False, repr=False)
    _mcp: MCPServers = field(init=False, repr=False)
    _output: OutputSpec = field(init=False, repr=False)
    _plan: RequestPlan = field(init=False, repr=False)
    _tools_hash: str = field(init=False, repr=False)
    _background: Background | None = field(init=False, repr=False)
    _clients: weakref.WeakKeyDictionary[
        asyncio.AbstractEventLoop, tuple[openai.AsyncOpenAI, bool]
    ] = field(init=False, repr=False, default_factory=weakref.WeakKeyDictionary)

    def __post_init__(self) -> None:
        chaining = self.chaining or ("previous_response_id" if self.store else "items")
        if chaining not in ("previous_response_id", "items", "conversation"):
            raise ConfigurationError(
                "chaining must be 'previous_response_id', 'items' or 'conversation', not "
                f"{chaining!r}"
            )
        if chaining == "previous_response_id" and not self.store:
            raise ConfigurationError(
                "chaining='previous_response_id' needs store=True: with store=False nothing is "
                "kept by the service, so turns are chained by sending the items."
            )
        if self.max_turns < 1:
            raise ConfigurationError("max_turns must be at least 1")
        if self.background and not self.store:
            raise ConfigurationError(
                "background=True needs store=True: the service keeps a background response "
                "so it can be polled, resumed and cancelled, and refuses one with store=false."
            )
        servers = [t for t in self.tools if isinstance(t, MCPServer)]
        hosted = [t for t in self.tools if isinstance(t, HostedTool)]
        tools = [as_tool(t) for t in self.tools if not isinstance(t, MCPServer | HostedTool)]
        transfers = [h if isinstance(h, Handoff) else Handoff(agent=h) for h in self.handoffs]
        tools += [h.tool for h in transfers]
        object.__setattr__(self, "handoffs_by_tool", {h.tool_name: h for h in transfers})
        object.__setattr__(self, "_guardrails", Guardrails.of(self.guardrails))
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
        object.__setattr__(self, "_tools_hash", _team_hash(self, fingerprint(params)))
        background = self.background
        object.__setattr__(
            self, "_background", Background() if background is True else background or None
        )

    def as_tool(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        input_type: type[BaseModel] | None = None,
        output: OutputExtractor | None = None,
    ) -> FunctionTool[Any]:
        """This agent as a function tool of another agent: each call is a run of its own.

        Args:
            name: The tool's name (default: the agent's `name`).
            description: What the calling model reads (default: the agent's `description`).
            input_type: A pydantic model the caller fills in (sent to this agent as JSON);
                by default the tool takes one string, `input`.
            output: What the caller reads of the sub-run's result (default: its output, JSON
                for structured output).

        The sub-run's usage counts in the calling run's; its errors are the call's error
        output; if it pauses for approvals, the calling run pauses with it (see docs).
        """
        return agent_tool(
            self, name=name, description=description, input_type=input_type, output=output
        )

    def clone(self, **changes: Any) -> Agent[Any, Any]:
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
        context: DepsT = None,  # type: ignore[assignment]
        max_turns: int | None = None,
        run_id: str | None = None,
        checkpoints: Checkpoints | None = None,
    ) -> RunResult[OutputT]:
        """Run the tool loop until the model gives a final answer (or the run pauses).

        `input` is a string, a list of input items, or a stopped `RunState` to resume. With
        `checkpoints`, the state is saved there after every step under `run_id` (a new id
        when None), so `resume(run_id, checkpoints=...)` continues it after a crash.
        """
        events = self._events(input, conversation, context, max_turns, run_id, checkpoints)
        return await _drain(events)

    def run_sync(
        self,
        input: Input,
        *,
        conversation: Conversation | None = None,
        context: DepsT = None,  # type: ignore[assignment]
        max_turns: int | None = None,
        run_id: str | None = None,
        checkpoints: Checkpoints | None = None,
    ) -> RunResult[OutputT]:
        """`run` for synchronous code; not allowed inside a running event loop."""
        return self._sync(
            lambda: self.run(
                input,
                conversation=conversation,
                context=context,
                max_turns=max_turns,
                run_id=run_id,
                checkpoints=checkpoints,
            )
        )

    async def resume(
        self,
        state: RunState | str,
        *,
        context: DepsT = None,  # type: ignore[assignment]
        max_turns: int | None = None,
        checkpoints: Checkpoints | None = None,
    ) -> RunResult[OutputT]:
        """Continue a stopped run: paused for approvals (decide them first with
        `state.approve(id)` ...), failed, cancelled — or, by its run id in `checkpoints`,
        one whose process crashed.

        Requests still undecided go to the `approval` policy, else the run pauses again. A
        background model call in flight is reattached to, never sent again; a tool whose
        output was checkpointed never runs again. Raises `ResumeError` if the state was
        resumed already or the tools of a paused run changed, `RunClaimed` if another process
        is running it now; a finished run's result is returned as it was.
        """
        if isinstance(state, str):
            if checkpoints is None:
                raise UserError("resume(run_id) needs the checkpoints= store the run was saved in.")
            events = self._events(RunId(state), None, context, max_turns, None, checkpoints)
        else:
            events = self._events(state, None, context, max_turns, None, checkpoints)
        return await _drain(events)

    def resume_sync(
        self,
        state: RunState | str,
        *,
        context: DepsT = None,  # type: ignore[assignment]
        max_turns: int | None = None,
        checkpoints: Checkpoints | None = None,
    ) -> RunResult[OutputT]:
        """`resume` for synchronous code."""
        return self._sync(
            lambda: self.resume(
                state, context=context, max_turns=max_turns, checkpoints=checkpoints
            )
        )

    def start(
        self,
        input: Input,
        *,
        conversation: Conversation | None = None,
        context: DepsT = None,  # type: ignore[assignment]
        max_turns: int | None = None,
        run_id: str | None = None,
        checkpoints: Checkpoints | None = None,
    ) -> RunHandle[OutputT]:
        """Start `run` in its own task and return its handle (`await handle`,
        `await handle.cancel()`); call it inside a running event loop."""
        box = StateBox()
        events = self._events(input, conversation, context, max_turns, run_id, checkpoints, box)
        return RunHandle(asyncio.get_running_loop().create_task(_drain(events)), box)

    async def stream(
        self,
        input: Input,
        *,
        conversation: Conversation | None = None,
        context: DepsT = None,  # type: ignore[assignment]
        max_turns: int | None = None,
        run_id: str | None = None,
        checkpoints: Checkpoints | None = None,
    ) -> AsyncGenerator[RunEvent[OutputT], None]:
        """Run the tool loop, yielding typed events as they happen; the last is `FinalResult`.

        Leaving the loop early stops the run (and cancels its background response).
        """
        events = self._events(
            input, conversation, context, max_turns, run_id, checkpoints, stream=True
        )
        async with contextlib.aclosing(events):  # an abandoned stream ends the run right away
            async for event in events:
                if not isinstance(event, StepEnd):
                    yield event

    def stream_sync(
        self,
        input: Input,
        *,
        conversation: Conversation | None = None,
        context: DepsT = None,  # type: ignore[assignment]
        max_turns: int | None = None,
        run_id: str | None = None,
        checkpoints: Checkpoints | None = None,
    ) -> Iterator[RunEvent[OutputT]]:
        """`stream` for synchronous code: the run goes on its own event loop, one event per
        step of the `for` loop; leaving the loop early stops the run. Not allowed inside a
        running event loop."""
        _refuse_inside_a_loop("stream_sync", "async for event in agent.stream(...)")
        events = self.stream(
            input,
            conversation=conversation,
            context=context,
            max_turns=max_turns,
            run_id=run_id,
            checkpoints=checkpoints,
        )
        return _sync_events(events)

    def iter(
        self,
        input: Input,
        *,
        conversation: Conversation | None = None,
        context: DepsT = None,  # type: ignore[assignment]
        max_turns: int | None = None,
        run_id: str | None = None,
        checkpoints: Checkpoints | None = None,
    ) -> AgentRun[OutputT]:
        """A run to step through: `async with agent.iter(input) as run: async for node in
        run: ...` gives a `ModelResponse` per model call, a `ToolsRan` per turn of tool calls,
        and last an `End` with the result. Between nodes, `await run.stop()` ends the run
        resumably (`cancelled`, checkpointed); `agent.resume(run.state)` continues it."""
        box = StateBox()
        events = self._events(input, conversation, context, max_turns, run_id, checkpoints, box)
        return AgentRun(events, box)

    def _sync(self, run: Callable[[], Awaitable[T]]) -> T:
        _refuse_inside_a_loop("run_sync", "await agent.run(...)")

        async def main() -> T:
            _SYNC_LOOPS.add(asyncio.get_running_loop())
            try:
                return await run()
            finally:
                await _close_sync_clients()

        return asyncio.run(main())

    async def _events(
        self,
        input: Input | RunId,
        conversation: Conversation | None,
        context: Any,
        max_turns: int | None,
        run_id: str | None,
        checkpoints: Checkpoints | None,
        box: StateBox | None = None,
        *,
        stream: bool = False,
    ) -> AsyncGenerator[RunEvent[OutputT] | StepEnd, None]:
        async with contextlib.AsyncExitStack() as stack:
            mcp_tools = await stack.enter_async_context(self.mcp_tools())
            started = time.time()
            observer = self._observer(context)
            team = self._team(stack, context, max_turns, stream, observer)
            setup = self.setup(
                mcp_tools, context, max_turns, stream=stream, observer=observer, team=team
            )
            start = Start(input, conversation, run_id, self._tools_hash)
            async with begin(setup, start, checkpoints) as (state, setup):
                if box is not None:
                    box.state = state
                if state.finished:  # a checkpointed run that finished before its process died
                    yield FinalResult(finished_result(state, self._output))
                    return
                async for event in iterate(setup, state):
                    if isinstance(event, FinalResult):  # its files download through this agent
                        event = await self._with_files(event, state, started)
                    yield event

    def setup(
        self,
        mcp_tools: Mapping[str, FunctionTool[Any]],
        context: Any,
        max_turns: int | None,
        *,
        stream: bool = False,
        model: ModelCaller | None = None,
        observer: Observer | None = None,
        team: Team | None = None,
    ) -> RunSetup:
        """What a run of this agent needs besides its state (a `model` caller replaces the
        one over the agent's client, e.g. on Temporal; an `observer` traces it and calls its
        hooks; a `team` holds the agents it may be handed to)."""
        observer = observer or self._observer(context)
        runner: ToolRunner = run_tool
        if self._guardrails.for_tools:
            runner = guarded(runner, self._guardrails, observer, skip=self.handoffs_by_tool)
        plan, tools = self._plan, self._tools
        if mcp_tools:
            tools = {**tools, **mcp_tools}
            params = tuple(t.to_param() for t in mcp_tools.values())
            plan = replace(plan, tools=plan.tools + params)
        return RunSetup(
            model=observer.model_caller(model or self.model_caller(stream=stream), self.name),
            plan=plan,
            tools=tools,
            output=self._output,
            instructions=self._instructions,
            deps=context,
            max_turns=max_turns or self.max_turns,
            output_retries=self.output_retries,
            tool_concurrency=self.tool_concurrency,
            approval=self.approval,
            tools_hash=self._tools_hash,
            containers=_container_keeper(self.tools),
            tool_runner=observer.tool_runner(runner, self.name),
            agent=self.name,
            guardrails=self._guardrails,
            observer=observer,
            handoffs=self.handoffs_by_tool,
            team=team,
            open_conversation=self._conversation_opener()
            if self.chaining == "conversation"
            else None,
        )

    def _conversation_opener(self) -> Callable[[], Awaitable[str]]:
        """Creates a service-side Conversation over this agent's client (on first use)."""
        headers = _request_headers(self.tools, self.settings.extra_headers)

        async def open_conversation() -> str:
            return await wire.create_conversation(self._client(), headers=headers)

        return open_conversation

    def mcp_tools(self) -> contextlib.AbstractAsyncContextManager[dict[str, FunctionTool[Any]]]:
        """The tools of the agent's MCP servers, by name: over the `async with agent:` block's
        sessions, else over sessions just for this block."""
        return self._mcp.tools()

    def _observer(self, context: Any) -> Observer:
        """The spans and hooks of one run started by this agent."""
        return Observer(self.hooks, self.tracing, context, lambda: _endpoint(self._client()))

    def _team(
        self,
        stack: contextlib.AsyncExitStack,
        context: Any,
        max_turns: int | None,
        stream: bool,
        observer: Observer,
    ) -> Team | None:
        """The agents a run of this one may be handed to; each one's MCP servers connect for
        the run when it is first handed to."""
        if not self.handoffs_by_tool:
            return None

        async def make(agent: Agent[Any, Any]) -> RunSetup:
            tools = await stack.enter_async_context(agent.mcp_tools())
            turns = max_turns or self.max_turns
            setup = agent.setup(tools, context, turns, stream=stream, observer=observer, team=team)
            return replace(setup, tools_hash=self._tools_hash)  # approvals are for the team's

        team = Team(Team.reachable(self), make)
        return team

    def model_caller(self, *, stream: bool = False) -> ModelCaller:
        """Model calls over this agent's client, as its settings say (streamed for
        `stream()`; background, retries, deadlines)."""
        client = self._client()
        settings = CallSettings(
            headers=_request_headers(self.tools, self.settings.extra_headers),
            retry=self.retry,
            timeouts=self.timeouts,
            stream=stream,
            background=self._background,
        )

        def call(
            body: dict[str, Any],
            *,
            attachment: Attachment | None,
            on_attach: Callable[[Attachment], Awaitable[None]],
        ) -> AsyncIterator[dict[str, Any] | Finished]:
            return respond(client, body, settings, attachment=attachment, on_attach=on_attach)

        return call

    async def _with_files(self, event: FinalResult, state: RunState, started: float) -> FinalResult:
        earlier = event.result.conversation.items[: state.start]
        written = await written_files(self._client(), event.result.new_items, started, earlier)
        return FinalResult(
            replace(event.result, _downloader=AgentDownloader(self), _written=written)
        )

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
            if loop in _SYNC_LOOPS:  # every agent of a `run_sync` (handoffs, agents as tools)
                entry = (self._private_client(), True)
                _SYNC_CLIENTS.setdefault(loop, []).append(entry[0])
            else:
                owned = not isinstance(self.client, openai.AsyncOpenAI)
                entry = (resolve_client(self.client), owned)
            self._clients[loop] = entry
        return entry[0]

    def _private_client(self) -> openai.AsyncOpenAI:
        """A client of its own for a `run_sync` loop, closed when that run ends.

        A user's async client gets a private connection pool: its own pool belongs to
        whichever loop used it first, and reusing it from the new loop `asyncio.run` makes
        would fail with "Event loop is closed".
        """
        if isinstance(self.client, openai.AsyncOpenAI):
            http = openai.DefaultAsyncHttpxClient(verify=_tls_context())
            return self.client.copy(http_client=http, max_retries=0)
        return resolve_client(self.client)

    async def aclose(self) -> None:
        """Close the HTTP client agentkit made for this event loop (a user's client stays open)."""
        entry = self._clients.pop(asyncio.get_running_loop(), None)
        if entry is not None and entry[1]:
            await entry[0].close()

    async def __aenter__(self) -> Agent[DepsT, OutputT]:
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


def _refuse_inside_a_loop(method: str, instead: str) -> None:
    """The sync wrappers run their own event loop: inside a running one they would block it."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise UserError(
        f"Agent.{method}() was called inside a running event loop; use `{instead}` there instead."
    )


def _sync_events(events: AsyncGenerator[T, None]) -> Iterator[T]:
    """The items of `events` on an event loop of their own (as `run_sync`), which runs while
    the caller waits for the next one. One task drives `events` from start to end, since MCP
    sessions (anyio) must be closed by the task that opened them; it takes a step only when
    asked, so a caller that stops reading stops the run where it was."""
    asks: asyncio.Queue[None] = asyncio.Queue()
    replies: asyncio.Queue[tuple[T] | Exception | None] = asyncio.Queue()

    async def pump() -> None:
        async with contextlib.aclosing(events):
            while True:
                await asks.get()
                try:
                    event = await anext(events)
                except StopAsyncIteration:
                    await replies.put(None)
                    return
                except Exception as error:
                    await replies.put(error)
                    return
                await replies.put((event,))

    async def ask() -> tuple[T] | Exception | None:
        await asks.put(None)
        return await replies.get()

    async def finish(task: asyncio.Task[None]) -> None:
        task.cancel()  # a run left early stops, as an abandoned `stream` does
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await _close_sync_clients()

    with asyncio.Runner() as runner:
        _SYNC_LOOPS.add(runner.get_loop())
        task = runner.get_loop().create_task(pump())
        try:
            while (item := runner.run(ask())) is not None:
                if isinstance(item, Exception):
                    raise item
                yield item[0]
        finally:
            runner.run(finish(task))


async def _drain(events: AsyncGenerator[RunEvent[T] | StepEnd, None]) -> RunResult[T]:
    """Run to the end: the last event's result."""
    found: RunResult[T] | None = None
    async for event in events:
        if isinstance(event, FinalResult):
            found = event.result
    assert found is not None
    return found


def finished_result(state: RunState, output: OutputSpec) -> RunResult[Any]:
    """The result of a run that finished earlier (resumed from a checkpoint after the fact)."""
    last: list[Item] = []
    for item in reversed(state.new_items):
        if item.get("type") in ("message", "reasoning") and item.get("role") != "user":
            last.append(item)
        else:
            break
    text = output_text(last[::-1])
    return result(state, text, output.parse(text))


def _team_hash(agent: Agent[Any, Any], own: str) -> str:
    """A hash of the tools of every agent `agent` can hand over to, and its own (`own`): a
    paused run resumes only with the tools its approvals were given for."""
    if not agent.handoffs_by_tool:
        return own
    team = Team.reachable(agent)
    return fingerprint(
        [
            {"type": "agent", "name": name, "tools": own if a is agent else a._tools_hash}
            for name, a in sorted(team.items())
        ]
    )


def _endpoint(client: openai.AsyncOpenAI) -> tuple[str, str | None, int | None]:
    """The provider name (as the GenAI conventions spell it), host and port of a client."""
    url = client.base_url
    azure = isinstance(client, openai.AsyncAzureOpenAI) or url.host.endswith(".openai.azure.com")
    return ("azure.ai.openai" if azure else "openai", url.host or None, url.port)


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


_SYNC_LOOPS: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
"""The event loops `run_sync` made: the clients agents make there are closed when it ends."""
_SYNC_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[openai.AsyncOpenAI]] = (
    weakref.WeakKeyDictionary()
)


async def _close_sync_clients() -> None:
    """Close every client the agents of this `run_sync` made (handed-to agents, sub-agents)."""
    for client in _SYNC_CLIENTS.pop(asyncio.get_running_loop(), []):
        await client.close()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One default TLS context for the private pools `run_sync` makes (each costs ~0.1 s)."""
    return ssl.create_default_context()
