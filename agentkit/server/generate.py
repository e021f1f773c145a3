"""Turn an engine's plan into output items and a complete Response body."""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentkit._ids import new_id
from agentkit.server.engines.base import Engine
from agentkit.server.errors import invalid
from agentkit.server.hosted import HOSTED_TOOLS, HostedContext, after_model, configured
from agentkit.server.plan import Call, Hosted, Planned, Raw, Say, Think, Turn
from agentkit.server.protocol.context import Context
from agentkit.server.protocol.items import Item
from agentkit.server.protocol.reasoning import ReasoningSealer
from agentkit.server.protocol.usage import (
    ITEM_OVERHEAD,
    count_items,
    count_text,
    count_tools,
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
    reasoning_model: bool

    @classmethod
    def start(cls, request: CreateRequest, reasoning_model: bool) -> Draft:
        return cls(new_id("resp"), request, int(time.time()), reasoning_model)

    def body(self, status: str = "in_progress") -> dict[str, Any]:
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
            "output": [],
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
        }

    def _service_tier(self, status: str) -> str:
        """As the service does: the tier asked for while in progress, then the tier used."""
        tier = self.request.service_tier
        if status == "in_progress" or tier != "auto":
            return tier
        return "default"

    def _reasoning(self) -> dict[str, Any]:
        if not self.reasoning_model:
            return {"effort": None, "summary": None}
        return {
            "effort": self.request.reasoning_effort or "medium",
            "summary": self.request.reasoning_summary,
        }

    def complete(self, context: Context, output: list[Item], thinking: int) -> dict[str, Any]:
        """The completed (or incomplete) Response body with this output."""
        body = self.body("completed")
        output, truncated = _limit(output, self.request.max_output_tokens)
        if truncated:
            body["status"] = "incomplete"
            body["incomplete_details"] = {"reason": "max_output_tokens"}
        else:
            body["completed_at"] = int(time.time())
        body["output"] = output
        body["usage"] = self._usage(context, output, thinking)
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
        r = self.request
        prompt = context.stored_tokens + context.input_tokens + count_tools(r.tools)
        if r.instructions:
            prompt += count_text(r.instructions)
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


def _limit(output: list[Item], budget: int | None) -> tuple[list[Item], bool]:
    """Cut the output at `max_output_tokens`, as the service does (status `incomplete`)."""
    if budget is None:
        return output, False
    kept: list[Item] = []
    used = 0
    for item in output:
        cost = count_items([item])
        if used + cost <= budget:
            kept.append(item)
            used += cost
            continue
        if item["type"] == "message":
            # What fits once the item's own framing is paid for: never above the budget.
            room = max(0, budget - used - ITEM_OVERHEAD) * 4
            text = item["content"][0]["text"][:room]
            kept.append({**message_item(text, "incomplete"), "id": item["id"]})
        return kept, True
    return kept, False


MAX_MODEL_ROUNDS = 8
"""How often the model may continue after hosted tool results within one response."""
PAUSING_TYPES = {"function_call", "mcp_approval_request"}
"""Output items that end a response: the client has to answer them."""


async def generate(
    draft: Draft,
    context: Context,
    engine: Engine,
    sealer: ReasoningSealer,
    services: Mapping[str, Any],
) -> dict[str, Any]:
    """Run the model (and the hosted tools it calls) and return the final Response body."""
    hosted = HostedContext(draft.request, list(context.items), [], services)
    for tool in configured(draft.request):
        _append(hosted, await tool.before_model(hosted))
    thinking = 0
    for round_number in range(MAX_MODEL_ROUNDS):
        turn = Turn(draft.request, list(hosted.items), draft.reasoning_model, services)
        plan = await engine.respond(turn)
        if (
            round_number == 0
            and draft.reasoning_model
            and not (plan and isinstance(plan[0], Think))
        ):
            plan = [Think(DEFAULT_THOUGHT), *plan]
        thinking += sum(16 + 2 * count_text(s.summary) for s in plan if isinstance(s, Think))
        ran_hosted = False
        for step in plan:
            if isinstance(step, Hosted):
                _append(hosted, await _run_hosted(draft, step, hosted))
                ran_hosted = True
            else:
                _append(hosted, [draft.item(step, sealer)])
        if not ran_hosted or any(item["type"] in PAUSING_TYPES for item in hosted.output):
            break
    await after_model(hosted)
    return draft.complete(context, hosted.output, thinking)


async def _run_hosted(draft: Draft, step: Hosted, hosted: HostedContext) -> list[Item]:
    if not any(tool["type"] == step.tool for tool in draft.request.tools):
        raise invalid(
            f"The model called the hosted tool '{step.tool}', which is not in the request's "
            "'tools'.",
            "tools",
        )
    return await HOSTED_TOOLS[step.tool].execute(step, hosted)


def _append(hosted: HostedContext, items: list[Item]) -> None:
    hosted.output.extend(items)
    hosted.items.extend(items)
