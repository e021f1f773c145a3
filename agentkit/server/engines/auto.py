"""The `auto` engine: a deterministic, documented stand-in for a model (see docs/server.md)."""

from __future__ import annotations

import json
import re
from typing import Any

from agentkit.server.engines.instances import Seeds, instance_for
from agentkit.server.hosted import configured, summary_of
from agentkit.server.plan import Call, Hosted, Planned, Say, Think, Turn
from agentkit.server.protocol.items import Item, item_text
from agentkit.server.protocol.media import describe_media

_CAMEL = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_WORD = re.compile(r"[a-z0-9]+")
MIN_WORD = 4
SNIPPET = 80


def name_words(name: str) -> set[str]:
    """The words of a tool name that can trigger it: split on _ - and camelCase, ≥ 4 letters."""
    words = (w.lower() for part in re.split(r"[_\-\s]+", name) for w in _CAMEL.findall(part))
    return {w for w in words if len(w) >= MIN_WORD}


def mentioned_tools(tools: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Tools one of whose name words appears as a word of `text`, in the order given."""
    words = set(_WORD.findall(text.lower()))
    return [tool for tool in tools if name_words(tool["name"]) & words]


class AutoEngine:
    """Calls the tools the user's words name, summarises tool outputs, else answers briefly."""

    name = "auto"

    async def respond(self, turn: Turn) -> list[Planned]:
        plan: list[Planned] = []
        offered = _offered(turn)
        answered = _ends_with_output(turn.items, offered)
        # After a tool's output (a function's, an MCP call's, any hosted tool's) a model left
        # to choose answers: calling again would repeat side effects (docs/server.md, step 1).
        settled = answered and _choice_is_auto(turn)
        user_text = _last_user_text(turn.items)
        calls = [] if settled else self._calls(turn, user_text)
        if not calls and not settled and not _answered_hosted(turn.items):
            calls = [s for t in configured(turn.request) for s in t.auto_steps(turn, user_text)]
        if turn.reasoning_model:
            plan.append(Think(_thought(user_text, calls, answered)))
        if calls:
            return plan + calls
        if turn.request.text_format.get("type") == "json_schema":
            schema = turn.request.text_format["schema"]
            return [*plan, Say(json.dumps(instance_for(schema, Seeds.from_text(user_text))))]
        if turn.request.text_format.get("type") == "json_object":
            return [*plan, Say(json.dumps({"answer": _snippet(user_text)}))]
        results = _results(turn.items, offered)
        if results:
            reply = "Here is what the tools returned: " + "; ".join(results) + "."
        else:
            reply = _reply(turn.items, user_text) + _acknowledged(turn)
        return [*plan, Say(reply)]

    def _calls(self, turn: Turn, text: str) -> list[Planned]:
        request = turn.request
        tools = [t for t in request.tools if t["type"] == "function"]
        choice = request.tool_choice
        if choice == "none" or not tools:
            return []
        if isinstance(choice, dict):
            chosen = [t for t in tools if t["name"] == choice["name"]]
        else:
            chosen = mentioned_tools(tools, text)
            if not chosen and choice == "required":
                chosen = tools[:1]
        if not request.parallel_tool_calls:
            chosen = chosen[:1]
        if request.max_tool_calls is not None:
            chosen = chosen[: request.max_tool_calls]
        seeds = Seeds.from_text(text)
        return [Call(t["name"], json.dumps(instance_for(t["parameters"], seeds))) for t in chosen]


NOT_RESULTS = frozenset(
    {
        "message", "function_call", "function_call_output", "reasoning", "mcp_list_tools",
        "mcp_approval_request", "mcp_approval_response",
    }
)  # fmt: skip


def _offered(turn: Turn) -> set[str] | None:
    """The function tools this request offers (None: it offers none, so every output counts,
    as when a call's output is sent back without the tools). Outputs of calls to tools it
    does not offer among others (another agent's, before a handoff) are not results: the
    user's words are acted on with the tools there are now."""
    names = {t["name"] for t in turn.request.tools if t["type"] == "function"}
    return names or None


def _results(items: list[Item], offered: set[str] | None) -> list[str]:
    """Every tool result since the user's latest message, oldest first, as the answer quotes
    it: a function's output by the name of its call, a hosted tool's by its own summary."""
    names = {i["call_id"]: i["name"] for i in items if i["type"] == "function_call"}
    found: list[str] = []
    for item in reversed(items):
        if item["type"] == "message" and item.get("role") == "user":
            break
        if item["type"] == "function_call_output":
            name = names.get(item["call_id"], "a tool")
            if offered is None or name in offered or name == "a tool":
                found.append(f"{name} returned {item_text(item)}")
        elif (text := summary_of(item)) is not None:
            found.append(text)
    return found[::-1]


def _ends_with_output(items: list[Item], offered: set[str] | None) -> bool:
    """Whether the context ends with a tool's output: a function's (one this request still
    offers), or a hosted tool's result (an MCP call, a declined approval, a code interpreter
    call, an image)."""
    if not items:
        return False
    last = items[-1]
    if last["type"] == "function_call_output":
        names = {i["call_id"]: i["name"] for i in items if i["type"] == "function_call"}
        name = names.get(last["call_id"])
        return offered is None or name is None or name in offered
    return summary_of(last) is not None


def _answered_hosted(items: list[Item]) -> bool:
    """Whether a hosted tool already ran since the user's latest message."""
    for item in reversed(items):
        if item["type"] == "message" and item.get("role") == "user":
            return False
        if item["type"] not in NOT_RESULTS:
            return True
    return False


def _choice_is_auto(turn: Turn) -> bool:
    return turn.request.tool_choice in ("auto", "none")


def _user_messages(items: list[Item]) -> list[Item]:
    # Items, not their text: a long context's text is read only for the messages quoted.
    return [item for item in items if item["type"] == "message" and item.get("role") == "user"]


def _last_user_text(items: list[Item]) -> str:
    latest = next(
        (i for i in reversed(items) if i["type"] == "message" and i.get("role") == "user"), None
    )
    return "" if latest is None else item_text(latest)


def _acknowledged(turn: Turn) -> str:
    """The images and files of the latest user message, as the answer mentions them."""
    latest = next(
        (i for i in reversed(turn.items) if i["type"] == "message" and i.get("role") == "user"),
        None,
    )
    found = describe_media(latest, turn.services) if latest is not None else []
    if not found:
        return ""
    listed = found[0] if len(found) == 1 else ", ".join(found[:-1]) + " and " + found[-1]
    return f" You sent {listed}."


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"


def _reply(items: list[Item], text: str) -> str:
    if not text:
        return "Hello! What can I do for you?"
    earlier = _user_messages(items)[:-1]
    reply = f'You said: "{_snippet(text)}".'
    if earlier:
        count = len(earlier)
        noun = "message" if count == 1 else "messages"
        reply += (
            f" Earlier in this conversation you sent {count} {noun}, starting with "
            f'"{_snippet(item_text(earlier[0]))}".'
        )
    return reply


def _step_name(step: Call | Hosted) -> str:
    return step.name or step.tool if isinstance(step, Hosted) else step.name


def _thought(text: str, calls: list[Planned], outputs: bool) -> str:
    if calls:
        names = [_step_name(c) for c in calls if isinstance(c, Call | Hosted)]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"To answer this I will call {listed}."
    if outputs:
        return "The tool results are in; I will summarise them."
    return f'Thinking about how to answer "{_snippet(text)}".'
