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
        outputs = _trailing_outputs(turn.items)
        user_text = _last_user_text(turn.items)
        answered = _offered(turn, outputs)
        calls = [] if answered and _choice_is_auto(turn) else self._calls(turn, user_text)
        if not calls and not _answered_hosted(turn.items):
            calls = [s for t in configured(turn.request) for s in t.auto_steps(turn, user_text)]
        if turn.reasoning_model:
            plan.append(Think(_thought(user_text, calls, outputs)))
        if calls:
            return plan + calls
        if turn.request.text_format.get("type") == "json_schema":
            schema = turn.request.text_format["schema"]
            return [*plan, Say(json.dumps(instance_for(schema, Seeds.from_text(user_text))))]
        if turn.request.text_format.get("type") == "json_object":
            return [*plan, Say(json.dumps({"answer": _snippet(user_text)}))]
        hosted = _hosted_results(turn.items)
        if outputs:
            reply = _summarise(turn.items, outputs)
        elif hosted:
            reply = "Here is what the tools returned: " + "; ".join(hosted) + "."
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


def _hosted_results(items: list[Item]) -> list[str]:
    """Summaries of the hosted tool results since the user's latest message, oldest first."""
    found: list[str] = []
    for item in reversed(items):
        if item["type"] == "message" and item.get("role") == "user":
            break
        text = summary_of(item)
        if text is not None:
            found.append(text)
    return found[::-1]


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


def _offered(turn: Turn, outputs: list[Item]) -> list[Item]:
    """The outputs of calls to tools this request still offers: results to summarise. Calls to
    tools it no longer offers (another agent's, before a handoff) leave the user's words to
    act on with the tools it has now."""
    offered = {t["name"] for t in turn.request.tools if t["type"] == "function"}
    names = {i["call_id"]: i["name"] for i in turn.items if i["type"] == "function_call"}
    return [o for o in outputs if names.get(o["call_id"]) in offered]


def _trailing_outputs(items: list[Item]) -> list[Item]:
    outputs: list[Item] = []
    for item in reversed(items):
        if item["type"] != "function_call_output":
            break
        outputs.append(item)
    return outputs[::-1]


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


def _summarise(items: list[Item], outputs: list[Item]) -> str:
    names = {i["call_id"]: i["name"] for i in items if i["type"] == "function_call"}
    parts = [f"{names.get(o['call_id'], 'a tool')} returned {item_text(o)}" for o in outputs]
    return "Here is what the tools returned: " + "; ".join(parts) + "."


def _step_name(step: Call | Hosted) -> str:
    return step.name or step.tool if isinstance(step, Hosted) else step.name


def _thought(text: str, calls: list[Planned], outputs: list[Item]) -> str:
    if calls:
        names = [_step_name(c) for c in calls if isinstance(c, Call | Hosted)]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"To answer this I will call {listed}."
    if outputs:
        return "The tool results are in; I will summarise them."
    return f'Thinking about how to answer "{_snippet(text)}".'
