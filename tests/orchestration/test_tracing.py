"""OpenTelemetry spans, with the SDK's in-memory exporter: the span tree of a run with a
handoff, tools, a guardrail and an agent used as a tool; the GenAI attributes; content only on
request; resumed runs linked to the first; nothing at all without an SDK. And the hooks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from agentkit import (
    Agent,
    ApprovalRequest,
    Decision,
    RunContext,
    RunHooks,
    RunResult,
    RunState,
    ToolCall,
    Tracing,
    Verdict,
    input_guardrail,
    passed,
)
from agentkit.checkpoints import MemoryCheckpoints
from agentkit.run.calls import run_tool
from agentkit.server import LocalServer

from .research import research_team
from .team import triage_team

PAGE = Path(__file__).resolve().parents[2] / "docs/tracing.md"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracing(exporter: InMemorySpanExporter) -> Tracing:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Tracing(tracer_provider=provider)


def tree(spans: tuple[ReadableSpan, ...]) -> list[str]:
    """The spans as an indented outline, children in start order."""
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in children.get(parent, []):
            lines.append("  " * depth + span.name)
            walk(span.context.span_id, depth + 1)  # type: ignore[union-attr]

    walk(None, 0)
    return lines


@input_guardrail
def anything(ctx: RunContext[Any], text: str) -> Verdict:
    return passed()


async def test_a_handoff_run_as_a_span_tree(
    server: LocalServer,
    client: openai.AsyncOpenAI,
    exporter: InMemorySpanExporter,
    tracing: Tracing,
) -> None:
    team = triage_team(client, specialist_model="gpt-4o-mini", tracing=tracing)
    team = team.clone(guardrails=[anything])
    result = await team.run("billing: lookup invoice 7")

    spans = exporter.get_finished_spans()
    assert tree(spans) == [
        "invoke_agent triage",
        "  guardrail anything",
        "  chat gpt-4o",
        "  execute_tool transfer_to_billing",
        "  handoff billing",
        "  chat gpt-4o-mini",
        "  execute_tool lookup_invoice",
        "  chat gpt-4o-mini",
    ]
    by_name = {s.name: s for s in spans}
    run = by_name["invoke_agent triage"]
    assert run.kind == SpanKind.INTERNAL
    assert dict(run.attributes or {}) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": "openai",
        "gen_ai.agent.name": "triage",
        "server.address": "127.0.0.1",
        "server.port": server.port,
        "gen_ai.request.model": "gpt-4o",
        "agentkit.run_id": result.state.run_id,
        "gen_ai.usage.input_tokens": result.usage.input_tokens,
        "gen_ai.usage.output_tokens": result.usage.output_tokens,
        "agentkit.run.status": "finished",
        "agentkit.agent": "billing",
    }
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert [s.attributes["gen_ai.response.id"] for s in chats] == result.response_ids  # type: ignore[index]
    last = chats[-1]
    assert last.kind == SpanKind.CLIENT
    assert last.attributes["gen_ai.agent.name"] == "billing"  # type: ignore[index]
    assert last.attributes["gen_ai.request.model"] == "gpt-4o-mini"  # type: ignore[index]
    assert last.attributes["gen_ai.usage.input_tokens"] > 0  # type: ignore[index,operator]
    assert last.attributes["gen_ai.response.finish_reasons"] == ("stop",)  # type: ignore[index]
    call = by_name["execute_tool lookup_invoice"]
    call_item = next(i for i in result.new_items if i.get("name") == "lookup_invoice")
    assert call.attributes["gen_ai.tool.call.id"] == call_item["call_id"]  # type: ignore[index]
    assert call.attributes["gen_ai.tool.name"] == "lookup_invoice"  # type: ignore[index]
    handed = by_name["handoff billing"]
    assert handed.attributes["agentkit.handoff.from"] == "triage"  # type: ignore[index]
    assert by_name["guardrail anything"].attributes["agentkit.guardrail.tripped"] is False  # type: ignore[index]
    # content is off by default
    assert not any(
        key.startswith(("gen_ai.input", "gen_ai.output", "gen_ai.system", "gen_ai.tool.call.a"))
        for span in spans
        for key in span.attributes or {}
    )
    assert len({s.context.trace_id for s in spans}) == 1  # type: ignore[union-attr]


async def test_an_agent_used_as_a_tool_nests_its_run_under_the_call(
    server: LocalServer,
    client: openai.AsyncOpenAI,
    exporter: InMemorySpanExporter,
    tracing: Tracing,
) -> None:
    lead = research_team(client, tracing=tracing)
    await lead.run('Ask papers "search papers on Lithium".')
    outline = tree(exporter.get_finished_spans())
    assert outline[:4] == [
        "invoke_agent lead",
        "  chat gpt-4o",
        "  execute_tool papers",
        "    invoke_agent papers",
    ]
    assert "      execute_tool search_papers" in outline


async def test_content_is_recorded_when_asked(
    server: LocalServer,
    client: openai.AsyncOpenAI,
    exporter: InMemorySpanExporter,
    tracing: Tracing,
) -> None:
    from .team import lookup_invoice

    bot = Agent(
        model="gpt-4o",
        client=client,
        instructions="Be brief.",
        tools=[lookup_invoice],
        tracing=Tracing(tracer_provider=tracing.tracer_provider, content=True),
    )
    await bot.run("lookup invoice 7")
    spans = {s.name: s for s in exporter.get_finished_spans()}
    first_chat = next(s for s in exporter.get_finished_spans() if s.name == "chat gpt-4o")
    attributes = first_chat.attributes or {}
    assert json.loads(str(attributes["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert json.loads(str(attributes["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "lookup invoice 7"}]}
    ]
    (message,) = json.loads(str(attributes["gen_ai.output.messages"]))
    assert message["parts"][0]["type"] == "tool_call"
    assert message["parts"][0]["arguments"] == {"invoice_id": 7}
    tool_span = spans["execute_tool lookup_invoice"].attributes or {}
    assert tool_span["gen_ai.tool.call.arguments"] == '{"invoice_id": 7}'
    assert tool_span["gen_ai.tool.call.result"] == "invoice 7: 120 EUR, paid"


async def test_a_resumed_run_links_to_its_first_span(
    server: LocalServer,
    client: openai.AsyncOpenAI,
    exporter: InMemorySpanExporter,
    tracing: Tracing,
) -> None:
    store = MemoryCheckpoints()
    team = triage_team(client, tracing=tracing)
    paused = await team.run(
        "refunds please: refund payment of order 42", run_id="r1", checkpoints=store
    )
    (request,) = paused.pending_approvals
    saved = RunState.from_dict(await store.load("r1") or {})
    assert saved.trace is not None
    first = next(s for s in exporter.get_finished_spans() if s.name == "invoke_agent triage")
    assert first.attributes["agentkit.run.status"] == "paused"  # type: ignore[index]

    exporter.clear()
    paused.state.approve(request.id)
    await team.resume(paused.state, checkpoints=store)
    again = next(s for s in exporter.get_finished_spans() if s.name == "invoke_agent triage")
    (link,) = again.links
    assert link.context.trace_id == first.context.trace_id  # type: ignore[union-attr]
    assert link.context.span_id == first.context.span_id  # type: ignore[union-attr]
    assert again.attributes["agentkit.resumed"] is True  # type: ignore[index]


async def test_a_failed_model_call_is_an_error_span(
    scripted: LocalServer,
    scripted_aclient: openai.AsyncOpenAI,
    exporter: InMemorySpanExporter,
    tracing: Tracing,
) -> None:
    from agentkit.server.plan import Fail

    scripted.scripted.queue(Fail(400, "bad", type="invalid_request_error", code="bad_thing"))
    bot = Agent(model="gpt-4o", client=scripted_aclient, tracing=tracing)
    with pytest.raises(Exception, match="bad"):
        await bot.run("hi")
    spans = {s.name: s for s in exporter.get_finished_spans()}
    for name in ("chat gpt-4o", "invoke_agent agent"):
        assert spans[name].status.status_code == StatusCode.ERROR
        assert spans[name].attributes["error.type"] == "bad_thing"  # type: ignore[index]


async def test_without_an_sdk_nothing_is_wrapped() -> None:
    """The global provider is never set in these tests: tracing is off, at no cost."""
    bot = Agent(
        model="gpt-4o", client=openai.AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k")
    )
    setup = bot.setup({}, None, None)
    assert setup.observer.watching is False
    assert setup.tool_runner is run_tool
    untraced = Agent(model="gpt-4o", tracing=None, client=bot.client)
    assert untraced.setup({}, None, None).observer.watching is False


class Recorder(RunHooks):
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def on_run_start(self, ctx: RunContext[Any], agent: str) -> None:
        self.seen.append(f"run start {agent}")

    async def on_run_end(
        self, ctx: RunContext[Any], result: RunResult[Any] | None, error: BaseException | None
    ) -> None:
        who = result.agent if result is not None else repr(error)
        self.seen.append(f"run end {who} paused={bool(result and result.paused)}")

    async def on_model_start(
        self, ctx: RunContext[Any], agent: str, request: dict[str, Any]
    ) -> None:
        self.seen.append(f"model start {agent} {request['model']}")

    async def on_model_end(
        self, ctx: RunContext[Any], agent: str, response: dict[str, Any]
    ) -> None:
        self.seen.append(f"model end {agent} {response['status']}")

    async def on_tool_start(self, ctx: RunContext[Any], agent: str, call: ToolCall) -> None:
        self.seen.append(f"tool start {agent} {call.name} {ctx.call_id == call.call_id}")

    async def on_tool_end(
        self, ctx: RunContext[Any], agent: str, call: ToolCall, output: str
    ) -> None:
        self.seen.append(f"tool end {call.name} {output}")

    async def on_handoff(self, ctx: RunContext[Any], from_agent: str, to_agent: str) -> None:
        self.seen.append(f"handoff {from_agent} -> {to_agent}")

    async def on_approval(
        self, ctx: RunContext[Any], request: ApprovalRequest, decision: Decision | None
    ) -> None:
        self.seen.append(f"approval {request.tool} {decision}")


async def test_hooks_see_each_step_in_order(
    server: LocalServer, client: openai.AsyncOpenAI
) -> None:
    hooks = Recorder()
    team = triage_team(client, hooks=hooks)
    paused = await team.run("refunds please: refund payment of order 42")
    paused.state.approve(paused.pending_approvals[0].id)
    await team.resume(paused.state)
    assert hooks.seen == [
        "run start triage",
        "model start triage gpt-4o",
        "model end triage completed",
        "tool start triage transfer_to_refunds True",
        "tool end transfer_to_refunds Transferred to refunds.",
        "handoff triage -> refunds",
        "model start refunds gpt-4o",
        "model end refunds completed",
        "approval refund_payment None",
        "run end refunds paused=True",
        "run start triage",
        "approval refund_payment Decision(approved=True, reason=None)",
        "tool start refunds refund_payment True",
        "tool end refund_payment refunded order 42",
        "model start refunds gpt-4o",
        "model end refunds completed",
        "run end refunds paused=False",
    ]


def test_the_pages_global_provider_traces_every_agent(server: LocalServer, tmp_path: Path) -> None:
    # docs/tracing.md's first block, then a run of an agent that names no tracer provider
    setup = re.search(r"^```python\n(.*?)^```", PAGE.read_text(), re.M | re.S)
    assert setup is not None and "set_tracer_provider" in setup[1]
    script = tmp_path / "traced.py"
    script.write_text(
        setup[1]
        + "\nfrom agentkit import Agent\n"
        + 'Agent(model="gpt-4o", name="helper").run_sync("hello")\n'
        + "provider.shutdown()\n"
    )
    env = {**os.environ, "AGENTKIT_BASE_URL": server.base_url, "AGENTKIT_API_KEY": "k"}
    ran = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )

    assert ran.returncode == 0, ran.stderr
    names = [json.loads(span)["name"] for span in re.findall(r"^\{.*?^\}", ran.stdout, re.M | re.S)]
    assert names == ["chat gpt-4o", "invoke_agent helper"]
