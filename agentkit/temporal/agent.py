"""TemporalAgent: an `Agent` whose runs inside a Temporal workflow are durable and deterministic.

Inside a workflow, `run` drives the very loop `Agent.run` drives, with its two seams pointed
at activities: each model call is a `ModelCall` activity and each tool call a `ToolCall`
activity (client-side MCP tools too), run by whichever worker takes them. The loop itself —
requests, approvals, the conversation — runs in the workflow and is replayed from its history,
so its ids come from the workflow and a stopped run is resumed without the process-wide
resume-once guard (the workflow itself is the run's owner). Outside a workflow, `run` is
`Agent.run`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Generic, TypeVar, cast

import pydantic
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.workflow import ActivityConfig

from agentkit.agent import Agent
from agentkit.context import RunContext
from agentkit.errors import ConfigurationError, UserError
from agentkit.guardrails import Guardrail, Guardrails, Verdict
from agentkit.handoffs import Team
from agentkit.hooks import RunHooks
from agentkit.model.call import Attachment, Finished
from agentkit.run.conversation import Conversation, Item
from agentkit.run.events import FinalResult
from agentkit.run.loop import RunSetup, iterate
from agentkit.run.model_call import ModelCaller
from agentkit.run.request import to_items
from agentkit.run.result import RunResult
from agentkit.run.state import RunState
from agentkit.temporal import failures, mcp
from agentkit.temporal.activities import ActivityNames, WorkerSide
from agentkit.temporal.payloads import Body, GuardrailCall, ModelCall, ToolCall, without_secrets
from agentkit.tools import FunctionTool, MCPServer
from agentkit.tools.function import ToolOutput
from agentkit.tracing import Observer

OutputT = TypeVar("OutputT")

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_KEYS = frozenset(ActivityConfig.__annotations__)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
MODEL_ACTIVITY = ActivityConfig(
    start_to_close_timeout=timedelta(minutes=15),
    heartbeat_timeout=timedelta(seconds=30),
    retry_policy=RETRY,
)
"""A model call's activity: a background call outlives its attempt (the next reattaches)."""
TOOL_ACTIVITY = ActivityConfig(
    start_to_close_timeout=timedelta(minutes=10),
    heartbeat_timeout=timedelta(seconds=30),
    retry_policy=RETRY,
)
"""A tool call's activity; a tool's own `timeout` (plus `TOOL_GRACE`) lengthens it as needed."""
TOOL_GRACE = timedelta(seconds=30)
MCP_ACTIVITY = ActivityConfig(start_to_close_timeout=timedelta(minutes=2), retry_policy=RETRY)


@dataclass(frozen=True)
class _Member:
    """One agent of the team a run may hand over to, as activities: the wrapped agent's are
    `agentkit.<name>.*`, those of an agent it hands over to `agentkit.<name>.<agent name>.*`."""

    label: str
    names: ActivityNames
    worker: WorkerSide


class TemporalAgent(Generic[OutputT]):
    """Runs `agent` durably inside Temporal workflows; build it at import time, next to the agent.

    Args:
        agent: The agent to run. The agents it may hand over to (its `handoffs`, and theirs)
            run as activities too, under the same activity options.
        name: Names its activities (`agentkit.<name>.model`, `.tool`, `.mcp_tools`; an agent
            it hands over to, `agentkit.<name>.<that agent's name>.*`); it must not change
            while runs are in flight.
        model_activity: Overrides of the model call activity's options (timeouts, retry policy,
            task queue); see `MODEL_ACTIVITY`.
        tool_activity: Overrides of the tool call activity's options; see `TOOL_ACTIVITY`.
        deps_type: The type of the `context` given to `run`, so tools in the workers receive it
            as that type (it crosses into the activity as JSON, like everything there).
    """

    def __init__(
        self,
        agent: Agent[Any, OutputT],
        *,
        name: str,
        model_activity: ActivityConfig | None = None,
        tool_activity: ActivityConfig | None = None,
        deps_type: Any = None,
    ) -> None:
        if not _NAME.fullmatch(name):
            raise ConfigurationError(
                f"TemporalAgent name {name!r}: use 1 to 64 letters, digits, '_' or '-'"
            )
        self.agent = agent
        self.name = name
        self.model_activity = _options(MODEL_ACTIVITY, model_activity, "model_activity")
        self.tool_activity = _options(TOOL_ACTIVITY, tool_activity, "tool_activity")
        self.deps = None if deps_type is None else pydantic.TypeAdapter(deps_type)
        self.team = Team.reachable(agent)
        self.members = {
            member.name: self._member(member, root=member is agent) for member in self.team.values()
        }
        self.names = self.members[agent.name].names
        self.worker = self.members[agent.name].worker

    def _member(self, agent: Agent[Any, Any], *, root: bool) -> _Member:
        label = self.name if root else f"{self.name}.{agent.name}"
        names = ActivityNames.of(label)
        return _Member(label, names, WorkerSide(agent, names, self.typed_context))

    def __repr__(self) -> str:
        return f"TemporalAgent(name={self.name!r}, model={self.agent.model!r})"

    async def run(
        self,
        input: str | list[Item],
        *,
        conversation: Conversation | None = None,
        context: Any = None,
        max_turns: int | None = None,
    ) -> RunResult[OutputT]:
        """`Agent.run`, as activities when called inside a workflow (a paused result is resumed
        with `resume`, after deciding its approvals on `result.state`)."""
        if not workflow.in_workflow():
            return await self.agent.run(
                input, conversation=conversation, context=context, max_turns=max_turns
            )
        setup = await self._setup(context, max_turns)
        state = RunState.begin(conversation, to_items(input))
        state.run_id = workflow.uuid4().hex  # the same when the workflow is replayed
        return await _drain(setup, state)

    async def resume(
        self, state: RunState, *, context: Any = None, max_turns: int | None = None
    ) -> RunResult[OutputT]:
        """`Agent.resume` of a stopped state (paused, failed or cancelled), as activities
        inside a workflow."""
        if not workflow.in_workflow():
            return await self.agent.resume(state, context=context, max_turns=max_turns)
        setup = await self._setup(context, max_turns)
        return await _drain(setup, state.claim(setup.tools_hash, guard=False))

    def typed_context(self, value: Any) -> Any:
        """A context that crossed as JSON, as the agent's `deps_type` (as it is without one)."""
        return value if self.deps is None or value is None else self.deps.validate_python(value)

    def activities(self) -> list[Callable[..., Any]]:
        """The activities workers must run for this agent and the agents it may hand over to
        (`AgentkitPlugin` registers them)."""
        return [found for member in self.members.values() for found in member.worker.activities()]

    async def close(self) -> None:
        """Close the workers' model clients and MCP sessions of this agent and its team (the
        worker is stopping; `AgentkitPlugin` does it)."""
        for member in self.members.values():
            await member.worker.close()

    # --- in the workflow ---------------------------------------------------------------------

    async def _setup(self, context: Any, max_turns: int | None) -> RunSetup:
        _check_serializable(context)
        # The first agent's hooks see the whole run. No spans from the workflow: they would
        # be made again on every replay (Temporal's own TracingInterceptor traces workflows).
        hooks = self.agent.hooks
        observer = Observer(_LiveHooks(hooks) if hooks is not None else None, None, context)
        team: Team | None = None
        if self.agent.handoffs_by_tool:

            async def make(agent: Agent[Any, Any]) -> RunSetup:
                setup = await self._member_setup(agent, context, turns, team, observer)
                return replace(setup, tools_hash=root.tools_hash)  # approvals are the team's

            turns = max_turns or self.agent.max_turns
            team = Team(self.team, make)
        root = await self._member_setup(self.agent, context, max_turns, team, observer)
        return root

    async def _member_setup(
        self,
        agent: Agent[Any, Any],
        context: Any,
        max_turns: int | None,
        team: Team | None,
        observer: Observer,
    ) -> RunSetup:
        """The setup of one agent of the team, its model and tool calls as its activities."""
        member = self.members[agent.name]
        tools = await self._mcp_tools(agent, member)

        async def run_tool(tool: FunctionTool, ctx: RunContext[Any], call: Item) -> ToolOutput:
            return await self._run_tool(member, tool, ctx, call)

        model = self._model_of(member)
        setup = agent.setup(tools, context, max_turns, model=model, observer=observer, team=team)
        return replace(
            setup,
            tool_runner=run_tool,
            new_id=lambda: workflow.uuid4().hex,
            guardrails=self._guardrails_of(member, setup.guardrails),
        )

    def _guardrails_of(self, member: _Member, rails: Guardrails) -> Guardrails:
        """`rails` with each input and output guardrail checked by a guardrail activity (user
        code, which may call a model, never runs in the workflow; tool guardrails run in the
        tool activity already)."""
        if not rails.input and not rails.output:
            return rails
        answer = member.worker.output  # the same adapter the worker validates it back with

        def remote(guardrail: Guardrail) -> Guardrail:
            async def check(ctx: RunContext[Any], value: Any) -> Verdict:
                sent = (
                    value if guardrail.kind == "input" else answer.dump_python(value, mode="json")
                )
                call = GuardrailCall(
                    guardrail.name, guardrail.kind, sent, ctx.run_id, ctx.turn, ctx.model, ctx.deps
                )
                try:
                    verdict: Verdict = await workflow.execute_activity(
                        member.names.guardrail,
                        call,
                        result_type=Verdict,
                        **_summarised(self.tool_activity, f"{member.label}: {guardrail.name}"),
                    )
                except ActivityError as error:
                    raise failures.raised_again(error) from None
                return verdict

            return replace(guardrail, check=check)

        return replace(
            rails,
            input=tuple(remote(g) for g in rails.input),
            output=tuple(remote(g) for g in rails.output),
        )

    def _model_of(self, member: _Member) -> ModelCaller:
        """The model caller of `member`: one model call activity per call."""

        def call(
            body: Body,
            *,
            attachment: Attachment | None,
            on_attach: Callable[[Attachment], Awaitable[None]],
        ) -> AsyncIterator[dict[str, Any] | Finished]:
            return self._call_model(member, body)

        return call

    async def _mcp_tools(self, agent: Agent[Any, Any], member: _Member) -> dict[str, FunctionTool]:
        if not any(isinstance(t, MCPServer) for t in agent.tools):
            return {}
        options: ActivityConfig = MCP_ACTIVITY
        task_queue = self.tool_activity.get("task_queue")
        if task_queue:  # listed where the tools will run
            options = {**options, "task_queue": task_queue}
        listed = await workflow.execute_activity(
            member.names.mcp_tools,
            result_type=list[mcp.Described],
            **_summarised(options, f"{member.label}: list MCP tools"),
        )
        return mcp.stand_ins(listed)

    async def _call_model(
        self, member: _Member, body: Body
    ) -> AsyncIterator[dict[str, Any] | Finished]:
        try:
            answer = await workflow.execute_activity(
                member.names.model,
                ModelCall(without_secrets(body)),
                result_type=dict[str, Any],
                **_summarised(self.model_activity, f"{member.label}: model call"),
            )
        except ActivityError as error:
            raise failures.raised_again(error) from None
        yield Finished(answer)

    async def _run_tool(
        self, member: _Member, tool: FunctionTool, ctx: RunContext[Any], call: Item
    ) -> ToolOutput:
        call_id = call["call_id"]
        request = ToolCall(
            tool.name, call["arguments"], call_id, ctx.run_id, ctx.turn, ctx.model, ctx.deps
        )
        try:
            output = await workflow.execute_activity(
                member.names.tool,
                request,
                result_type=cast(type, ToolOutput),
                **_summarised(self._tool_options(tool), f"{member.label}: {tool.name}"),
            )
        except ActivityError as error:
            raise failures.tool_error(error, tool.name, call_id) from None
        return cast(ToolOutput, output)

    def _tool_options(self, tool: FunctionTool) -> ActivityConfig:
        """The tool activity's options, its timeout long enough for the tool's own."""
        options = self.tool_activity
        given = options.get("start_to_close_timeout")
        if tool.timeout is None or given is None:
            return options
        needed = timedelta(seconds=tool.timeout) + TOOL_GRACE
        return {**options, "start_to_close_timeout": max(given, needed)}


class _LiveHooks(RunHooks):
    """An agent's hooks inside a workflow: called as the run happens, never again while a
    worker replays the workflow's history, so a hook logs or counts each step once. Since
    nothing they do reaches the workflow's commands, they run outside the sandbox's
    restrictions (a hook may log, write a file, read the environment)."""

    def __init__(self, hooks: RunHooks) -> None:
        self._hooks = hooks

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("on_"):
            return object.__getattribute__(self, name)
        method = getattr(object.__getattribute__(self, "_hooks"), name)

        async def call(*args: Any, **kwargs: Any) -> None:
            if not workflow.unsafe.is_replaying():
                with workflow.unsafe.sandbox_unrestricted():
                    await method(*args, **kwargs)

        return call


async def _drain(setup: RunSetup, state: RunState) -> RunResult[Any]:
    found: RunResult[Any] | None = None
    async for event in iterate(setup, state):
        if isinstance(event, FinalResult):
            found = event.result
    assert found is not None
    return found


def _options(defaults: ActivityConfig, given: ActivityConfig | None, what: str) -> ActivityConfig:
    """Defaults with the given options over them; an unknown key is refused here, at import
    time (inside a workflow it would fail every workflow task)."""
    unknown = sorted(set(given or {}) - _KEYS)
    if unknown:
        raise ConfigurationError(f"{what}: unknown activity option {unknown[0]!r}")
    merged: ActivityConfig = {**defaults, **(given or {})}
    return merged


def _summarised(options: ActivityConfig, summary: str) -> ActivityConfig:
    """`options` with a summary for Temporal's UI, unless they have one."""
    return {"summary": summary, **options}


def _check_serializable(context: Any) -> None:
    """Refuse a context that cannot cross into the tool activities (it would wedge the
    workflow task) before the run starts."""
    try:
        workflow.payload_converter().to_payload(context)
    except Exception as error:
        raise UserError(
            f"The run's context must convert to a Temporal payload (it is copied into each tool "
            f"activity, and so into the workflow's history): {type(error).__name__}: {error}"
        ) from None
