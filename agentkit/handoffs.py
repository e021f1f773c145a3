"""Handoffs: an agent hands the conversation to another, which answers for the rest of the run.

`Agent(..., handoffs=[billing, handoff(refunds, input_type=Reason)])` offers the model one
strict transfer tool per target (`transfer_to_billing`, ...). When the model calls one, the
turn's calls are answered as usual, then the run goes on with the target's instructions,
tools, model and output type, keeping the conversation — or what the handoff's `history`
filter leaves of it. The state records which agent answers, so a paused, failed or crashed
run resumes with that agent; `RunResult.agent` names the one that answered.

On the wire the conversation simply continues: chained by `previous_response_id` to the
transfer's response, or sent by value. Reasoning items belong to the model that made them: a
model that does not reason refuses them (400), and encrypted reasoning is verified by the
deployment that sealed it. So a handoff to an agent on another model drops them (and the ids
of the items that followed them) and sends the transcript by value once; a handoff on the same
model keeps them and the chain.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, create_model

from agentkit.context import RunContext
from agentkit.errors import ConfigurationError, ResumeError
from agentkit.run.conversation import Item
from agentkit.run.events import HandedOff
from agentkit.run.reasoning import fit_for
from agentkit.run.state import RunState
from agentkit.tools import FunctionTool
from agentkit.tools.typed import typed_tool

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.run.loop import RunSetup

OnHandoff = Callable[[RunContext[Any], Any], Awaitable[None] | None]


@functools.cache
def _no_arguments() -> type[BaseModel]:
    return create_model("NoArguments")  # made on first use: pydantic models cost at import


@dataclass(frozen=True)
class HandoffHistory:
    """The conversation as the next agent would see it: before this run, and this run's items so
    far (ending with the transfer call and its output)."""

    earlier: list[Item]
    run: list[Item]


HistoryFilter = Callable[[HandoffHistory], HandoffHistory]
"""Decides what the next agent sees; a filter that changes the history makes the run send it by
value once (the service's stored chain no longer matches)."""


@dataclass(frozen=True, kw_only=True)
class Handoff:
    """A transfer the model may make to another agent (see `handoff`)."""

    agent: Agent[Any, Any]
    tool_name: str = ""
    description: str = ""
    input_type: type[BaseModel] | None = None
    on_handoff: OnHandoff | None = None
    history: HistoryFilter | None = None
    tool: FunctionTool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        name = self.agent.name
        if not self.tool_name:
            object.__setattr__(self, "tool_name", f"transfer_to_{name}"[:64])
        if not self.description:
            about = f" {self.agent.description}" if self.agent.description else ""
            object.__setattr__(
                self, "description", f"Hand the conversation over to the {name} agent.{about}"
            )
        arguments = self.input_type or _no_arguments()
        object.__setattr__(
            self, "tool", typed_tool(self.tool_name, self.description, arguments, self._transfer)
        )

    @property
    def confirmation(self) -> str:
        """The transfer call's output (what the model reads when the handoff happens)."""
        return f"Transferred to {self.agent.name}."

    async def _transfer(self, ctx: RunContext[Any], fields: dict[str, Any]) -> str:
        if self.on_handoff is not None:
            value = self.input_type(**fields) if self.input_type is not None else None
            done = self.on_handoff(ctx, value)
            if inspect.isawaitable(done):
                await done
        return self.confirmation


def handoff(
    agent: Agent[Any, Any],
    *,
    tool_name: str | None = None,
    description: str | None = None,
    input_type: type[BaseModel] | None = None,
    on_handoff: OnHandoff | None = None,
    history: HistoryFilter | None = None,
) -> Handoff:
    """A handoff to `agent`, with options (an agent in `handoffs=` gets the defaults).

    Args:
        tool_name: The transfer tool's name (default `transfer_to_{agent.name}`).
        description: What the model reads about it (default names the agent and its
            `description`).
        input_type: A pydantic model whose fields the model fills in when it transfers (e.g.
            a reason); `on_handoff` gets the instance.
        on_handoff: Called (sync or async) with the run context and the arguments when the
            model calls the transfer tool.
        history: What the next agent sees of the conversation (default: all of it).
    """
    return Handoff(
        agent=agent,
        tool_name=tool_name or "",
        description=description or "",
        input_type=input_type,
        on_handoff=on_handoff,
        history=history,
    )


# --- history filters ------------------------------------------------------------------------

TOOL_ITEMS = frozenset(
    {"function_call", "function_call_output", "mcp_call", "mcp_list_tools",
     "mcp_approval_request", "mcp_approval_response", "code_interpreter_call",
     "image_generation_call", "web_search_call", "file_search_call"}
)  # fmt: skip


def remove_tool_calls(history: HandoffHistory) -> HandoffHistory:
    """The conversation without tool calls and their outputs (the transfer's too), and without
    reasoning (which belonged to those calls): the next agent sees the messages only."""

    def keep(items: list[Item]) -> list[Item]:
        return [
            i for i in items if i.get("type") not in TOOL_ITEMS and i.get("type") != "reasoning"
        ]

    return HandoffHistory(keep(history.earlier), keep(history.run))


# --- switching agents in a run ----------------------------------------------------------------


class Team:
    """The agents one run may hand over to, by name, and how each one's setup is made."""

    def __init__(
        self,
        agents: Mapping[str, Agent[Any, Any]],
        make: Callable[[Agent[Any, Any]], Awaitable[RunSetup]],
    ) -> None:
        self.agents = agents
        self._make = make
        self._setups: dict[str, RunSetup] = {}

    @classmethod
    def reachable(cls, root: Agent[Any, Any]) -> dict[str, Agent[Any, Any]]:
        """Every agent `root` can hand over to, directly or through others, by name."""
        found: dict[str, Agent[Any, Any]] = {}
        pending = [root]
        while pending:
            agent = pending.pop()
            known = found.setdefault(agent.name, agent)
            if known is not agent:
                raise ConfigurationError(
                    f"Two different agents in one team are named {agent.name!r}; give each "
                    "agent a handoff can reach its own name=..."
                )
            pending.extend(
                h.agent for h in agent.handoffs_by_tool.values() if h.agent.name not in found
            )
        return found

    async def setup(self, name: str) -> RunSetup:
        agent = self.agents.get(name)
        if agent is None:
            raise ResumeError(
                f"This run was handed to the agent {name!r}, which the resuming agent cannot "
                "reach by its handoffs; resume it with the agent that started it."
            )
        if name not in self._setups:
            self._setups[name] = await self._make(agent)
        return self._setups[name]


async def switch(setup: RunSetup, state: RunState) -> tuple[RunSetup, HandedOff | None]:
    """The setup to go on with: the target of a transfer the latest turn made (the handoff is
    applied to the state and saved), or, in a resumed run, the agent that was answering."""
    if state.agent is None:
        state.agent = setup.agent
    if not setup.handoffs and state.agent == setup.agent:  # the common case: one agent
        fit_for(state, setup.plan.model)
        return setup, None
    transfer = latest_transfer(setup, state) if state.agent == setup.agent else None
    handed: HandedOff | None = None
    if transfer is not None:
        chosen, call_id = transfer
        _apply(chosen, state)
        handed = HandedOff(setup.agent, chosen.agent.name, call_id)
    if state.agent != setup.agent:
        target = await _team(setup).setup(state.agent)
        setup = replace(target, checkpoint=setup.checkpoint, store=setup.store, new_id=setup.new_id)
    fit_for(state, setup.plan.model)  # another model's reasoning items are dropped
    if handed is not None:
        await setup.checkpoint(state)
    return setup, handed


def _team(setup: RunSetup) -> Team:
    if setup.team is None:
        raise ResumeError(
            f"This run is being answered by another agent than {setup.agent!r}; resume it with "
            "the agent that started it."
        )
    return setup.team


def latest_transfer(setup: RunSetup, state: RunState) -> tuple[Handoff, str] | None:
    """The handoff the latest turn asked for (its first successful transfer call), if any; the
    other transfer calls of that turn are answered as not done."""
    if not setup.handoffs:
        return None
    items = state.conversation.items
    outputs: dict[str, Item] = {}
    for item in reversed(items):
        if item.get("type") == "function_call_output":
            outputs[item["call_id"]] = item
        elif item.get("type") != "mcp_approval_response":
            break
    if not outputs:
        return None
    chosen: tuple[Handoff, str] | None = None
    calls = [i for i in items if i.get("type") == "function_call" and i["call_id"] in outputs]
    for item in calls:
        target = setup.handoffs.get(item["name"])
        output = outputs[item["call_id"]]
        if target is None or output["output"] != target.confirmation:
            continue
        if chosen is None:
            chosen = (target, item["call_id"])
        else:
            output["output"] = f"Not transferred: the conversation went to {chosen[0].agent.name}."
    return chosen


def _apply(chosen: Handoff, state: RunState) -> None:
    """Record the new agent and give it the history its filter leaves."""
    state.agent = chosen.agent.name
    if chosen.history is None:
        return
    items = state.conversation.items
    before = HandoffHistory(items[: state.start], items[state.start :])
    after = chosen.history(HandoffHistory(list(before.earlier), list(before.run)))
    if after != before:
        state.conversation.items = [*after.earlier, *after.run]
        state.start = len(after.earlier)
        state.conversation.mark_synced(None)
