"""Turn an engine's plan into output items, their events as they are made, and a Response body."""

from __future__ import annotations

import asyncio
import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentkit._ids import new_id
from agentkit.server.emitter import Emitter
from agentkit.server.engines.base import Engine
from agentkit.server.errors import invalid
from agentkit.server.hosted import (
    HOSTED_TOOLS,
    HostedContext,
    annotate,
    approved_steps,
    configured,
)
from agentkit.server.plan import (
    Abort,
    Call,
    Control,
    Drop,
    Hold,
    Hosted,
    Malformed,
    Pace,
    Planned,
    Raw,
    Say,
    Stall,
    Think,
    Turn,
    Wait,
)
from agentkit.server.protocol.context import Context
from agentkit.server.protocol.items import Item
from agentkit.server.protocol.models import NOT_REASONING, ModelCard
from agentkit.server.protocol.reasoning import ReasoningSealer
from agentkit.server.protocol.usage import (
    ITEM_OVERHEAD,
    count_items,
    count_text,
    prompt_tokens,
    usage_body,
)
from agentkit.server.protocol.validation import CreateRequest

_CALL_ALPHABET = string.ascii_letters + string.digits
DEFAULT_THOUGHT = "Considering the request."


def call_id() -> str:
    return "call_" + "".join(secrets.choice(_CALL_ALPHABET) for _ in range(24))


@dataclass
class Draft:
    """A response being made: its id, request and when it started."""

    id: str
    request: CreateRequest
    created_at: int
    card: ModelCard = NOT_REASONING

    @classmethod
    def start(cls, request: CreateRequest, card: ModelCard = NOT_REASONING) -> Draft:
        return cls(new_id("resp"), request, int(time.time()), card)

    @property
    def reasoning_model(self) -> bool:
        """Whether the model reasons in this response (not at `effort: "none"`)."""
        return self.card.thinks(self.request.reasoning_effort)

    def body(self, status: str = "in_progress", output: list[Item] | None = None) -> dict[str, Any]:
        """The Response object with every field of the spec, before output and usage."""
        r = self.request
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": r.background,
            "completed_at": None,
            "error": None,
            "incomplete_details": None,
            "instructions": r.instructions,
            "max_output_tokens": r.max_output_tokens,
            "max_tool_calls": r.max_tool_calls,
            "model": r.model,
            "output": list(output or []),
            "parallel_tool_calls": r.parallel_tool_calls,
            "previous_response_id": r.previous_response_id,
            "prompt_cache_key": r.prompt_cache_key,
            "prompt_cache_retention": r.prompt_cache_retention,
            "reasoning": self._reasoning(),
            "safety_identifier": r.safety_identifier,
            "service_tier": self._service_tier(status),
            "store": r.store,
            "temperature": r.temperature,
            "text": {"format": r.text_format, "verbosity": r.verbosity},
            "tool_choice": r.tool_choice,
            "tools": r.tools,
            "top_logprobs": r.top_logprobs,
            "top_p": r.top_p,
            "presence_penalty": 0.0,
            "frequency_penalty": 0.0,
            "truncation": r.truncation,
            "usage": None,
            "user": r.user,
            "metadata": r.metadata,
            **({"conversation": {"id": r.conversation}} if r.conversation else {}),
        }

    def _service_tier(self, status: str) -> str:
        """As the service does: the tier asked for while in progress, then the tier used."""
        tier = self.request.service_tier
        if status in ("queued", "in_progress") or tier != "auto":
            return tier
        return "default"

    def _reasoning(self) -> dict[str, Any]:
        if not self.card.reasoning:
            return {"effort": None, "summary": None}
        return {
            "effort": self.card.effort(self.request.reasoning_effort),
            "summary": self.request.reasoning_summary,
        }

    def complete(
        self, context: Context, output: list[Item], thinking: int, truncated: bool = False
    ) -> dict[str, Any]:
        """The completed (or, cut at `max_output_tokens`, incomplete) Response body."""
        body = self.body("completed", output)
        if truncated:
            body["status"] = "incomplete"
            body["incomplete_details"] = {"reason": "max_output_tokens"}
        else:
            body["completed_at"] = int(time.time())
        body["usage"] = self._usage(context, output, thinking)
        return body

    def ended(
        self, status: str, output: list[Item], error: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The body of a response that ended early: `failed` (with its error) or `cancelled`."""
        body = self.body(status, output)
        body["error"] = error
        return body

    def item(self, step: Planned, sealer: ReasoningSealer) -> Item:
        """The output item for one planned step (not a `Hosted` one: its tool makes those)."""
        if isinstance(step, Say):
            return message_item(step.text)
        if isinstance(step, Call):
            return {
                "id": new_id("fc"),
                "type": "function_call",
                "status": "completed",
                "arguments": step.arguments,
                "call_id": step.call_id or call_id(),
                "name": step.name,
            }
        if isinstance(step, Think):
            return self._reasoning_item(step, sealer)
        if isinstance(step, Raw):
            return step.item if "id" in step.item else {"id": new_id("item"), **step.item}
        raise TypeError(f"not an output item step: {step!r}")

    def _reasoning_item(self, step: Think, sealer: ReasoningSealer) -> Item:
        item_id = new_id("rs")
        summary = (
            [{"type": "summary_text", "text": step.summary}]
            if self.request.reasoning_summary
            else []
        )
        item: Item = {"id": item_id, "type": "reasoning", "summary": summary}
        if "reasoning.encrypted_content" in self.request.include:
            item["encrypted_content"] = sealer.seal(item_id, self.request.model, summary)
        return item

    def _usage(self, context: Context, output: list[Item], thinking: int) -> dict[str, Any]:
        prompt = prompt_tokens(self.request, context)
        cached = context.stored_tokens
        produced = count_items([i for i in output if i["type"] != "reasoning"]) + thinking
        return usage_body(prompt, produced, cached=cached, reasoning=thinking)


def message_item(text: str, status: str = "completed") -> Item:
    return {
        "id": new_id("msg"),
        "type": "message",
        "status": status,
        "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}],
        "role": "assistant",
    }


MAX_MODEL_ROUNDS = 8
"""How often the model may continue after hosted tool results within one response."""
PAUSING_TYPES = {"function_call", "mcp_approval_request"}
"""Output items that end a response: the client has to answer them."""
CONTROL_TYPES = (Wait, Pace, Abort, Hold, Drop, Stall, Malformed)


class Aborted(Exception):
    """The model failed mid-response (a scripted `Abort`)."""

    def __init__(self, step: Abort) -> None:
        super().__init__(step.message)
        self.step = step


@dataclass
class Generation:
    """One response being made: hosted tools' preparations, the model's rounds, their events.

    `prepare` runs what may still refuse the request (listing MCP servers, the first plan), so
    its errors are HTTP errors; `run` makes the output, sending each item's events as it goes.
    """

    draft: Draft
    context: Context
    engine: Engine
    sealer: ReasoningSealer
    services: Mapping[str, Any]
    hosted: HostedContext = field(init=False)
    plan: list[Planned] = field(default_factory=list)
    approved: list[Hosted] = field(default_factory=list)
    plans: list[list[Planned]] = field(default_factory=list)
    thinking: int = 0
    used: int = 0
    truncated: bool = False

    def __post_init__(self) -> None:
        self.hosted = HostedContext(self.draft.request, list(self.context.items), [], self.services)

    @property
    def request(self) -> CreateRequest:
        return self.draft.request

    @property
    def output(self) -> list[Item]:
        return self.hosted.output

    def controls(self) -> list[Control]:
        """The control steps of every plan so far (faults, waits, paces), in order."""
        return [step for plan in self.plans for step in plan if isinstance(step, CONTROL_TYPES)]

    async def prepare(self) -> None:
        for tool in configured(self.request):
            for item in await tool.before_model(self.hosted):
                self._keep(item)
        self.approved = approved_steps(self.hosted)
        if not self.approved:  # else the model first sees what the approved calls return
            self.plan = await self._respond(0)

    async def run(self, out: Emitter) -> dict[str, Any]:
        """Make the output (after `prepare`) and return the final body."""
        self.hosted.sender = out
        for index, item in enumerate(self.output):
            await out.item(index, item)
        await self._play(list(self.approved), out)
        for round_number in range(MAX_MODEL_ROUNDS):
            if round_number or self.approved:
                self.plan = await self._respond(round_number)
            ran_hosted = await self._play(self.plan, out)
            if self.truncated or not ran_hosted or self._paused():
                break
        return self.draft.complete(self.context, self.output, self.thinking, self.truncated)

    async def _respond(self, round_number: int) -> list[Planned]:
        turn = Turn(
            self.request, list(self.hosted.items), self.draft.reasoning_model, self.services
        )
        plan = await self.engine.respond(turn)
        said = [step for step in plan if not isinstance(step, CONTROL_TYPES)]
        if (
            round_number == 0
            and self.draft.reasoning_model
            and not isinstance(next(iter(said), None), Think)
        ):
            plan = [Think(DEFAULT_THOUGHT), *plan]
        self.thinking += sum(16 + 2 * count_text(s.summary) for s in plan if isinstance(s, Think))
        self.plans.append(plan)
        return plan

    async def _play(self, plan: list[Planned], out: Emitter) -> bool:
        """Play one plan's steps in order; whether a hosted tool ran (the model then goes on)."""
        ran_hosted = False
        for step in plan:
            if self.truncated:
                break
            if isinstance(step, Hosted):
                for item in await self._run_hosted(step):
                    self._keep(item)
                ran_hosted = True
            elif isinstance(step, Wait):
                await asyncio.sleep(step.seconds)
            elif isinstance(step, Pace):
                out.pace_ms = step.ms
            elif isinstance(step, Abort):
                raise Aborted(step)
            elif not isinstance(step, CONTROL_TYPES):
                await self._say(self.draft.item(step, self.sealer), out)
        return ran_hosted

    async def _say(self, item: Item, out: Emitter) -> None:
        annotate(self.hosted, item)
        fitted = self._fit(item)
        if fitted is not None:
            await out.item(len(self.output), fitted)
            self._keep(fitted, counted=True)

    def _fit(self, item: Item) -> Item | None:
        """The item as far as `max_output_tokens` allows (a message is cut, others dropped)."""
        budget = self.request.max_output_tokens
        cost = count_items([item])
        if budget is None or self.used + cost <= budget:
            self.used += cost
            return item
        self.truncated = True
        if item["type"] != "message":
            return None
        # What fits once the item's own framing is paid for: never above the budget.
        room = max(0, budget - self.used - ITEM_OVERHEAD) * 4
        text = item["content"][0]["text"][:room]
        return {**message_item(text, "incomplete"), "id": item["id"]}

    def _keep(self, item: Item, *, counted: bool = False) -> None:
        if not counted:
            # A hosted tool's item has happened already: it stays, and counts against the budget.
            self.used += count_items([item])
            budget = self.request.max_output_tokens
            self.truncated = self.truncated or (budget is not None and self.used > budget)
        self.hosted.output.append(item)
        self.hosted.items.append(item)

    def _paused(self) -> bool:
        return any(item["type"] in PAUSING_TYPES for item in self.output)

    async def _run_hosted(self, step: Hosted) -> list[Item]:
        if not any(tool["type"] == step.tool for tool in self.request.tools):
            raise invalid(
                f"The model called the hosted tool '{step.tool}', which is not in the request's "
                "'tools'.",
                "tools",
            )
        return await HOSTED_TOOLS[step.tool].execute(step, self.hosted)
