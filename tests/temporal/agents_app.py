"""Agents on Temporal for the end-to-end tests, as a worker runs them (in the test's process, or
in a `WorkerProcess` that a test SIGKILLs).

The model is whatever `AGENTKIT_BASE_URL` points at (a scripted local server); tools append one
line per effect to `EFFECTS_FILE`, keyed by the call's idempotency key, and `slow` (which says
which process started it) waits to be killed when `CRASH_HOLD` is set. The hosted MCP server of `librarian` comes from
`FILES_MCP_URL` / `FILES_MCP_TOKEN`, read at import (only the processes that use it set them).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

# The tools of the checkpoint crash tests: one effect per idempotency key, in $EFFECTS_FILE.
from durability.crash_worker import _apply, effects_file, record
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker
from temporalio.workflow import ActivityConfig

from agentkit import (
    Agent,
    CodeInterpreter,
    MCPServerStdio,
    RemoteMCP,
    RunContext,
    RunHooks,
    ToolCall,
    Tracing,
    Verdict,
    input_guardrail,
    output_guardrail,
    passed,
    tool,
    tool_input_guardrail,
    tripped,
)
from agentkit.temporal import AgentkitPlugin, TemporalAgent

QUICK_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=100), maximum_interval=timedelta(seconds=1)
)
# A killed worker's activity is retried on another worker after this much silence.
HEARTBEAT = timedelta(seconds=2)
QUICK = ActivityConfig(heartbeat_timeout=HEARTBEAT, retry_policy=QUICK_RETRY)
NOTES_TOKEN = os.environ.get("NOTES_TOKEN", "notes-token-that-stays-in-the-worker")


def effects() -> list[str]:
    path = effects_file()
    return path.read_text().splitlines() if path.exists() else []


@tool
def slow(ctx: RunContext[None], tag: str) -> str:
    """Record a tag, slowly."""
    with effects_file().open("a") as file:
        file.write(f"started {tag} {ctx.idempotency_key} {os.getpid()}\n")
    if os.environ.get("CRASH_HOLD"):
        time.sleep(600)
    return _apply(tag, ctx.idempotency_key)


@tool(needs_approval=True)
def send_email(ctx: RunContext[None], to: str) -> str:
    """Send an email."""
    return _apply(f"email:{to}", ctx.idempotency_key)


@dataclass
class Shop:
    """The context of `clerk`'s runs: crosses into the tool activity as JSON."""

    name: str
    discount: int


@tool
def price(ctx: RunContext[Shop], item: str) -> str:
    """The price of an item."""
    return f"{item} at {ctx.deps.name}: {100 - ctx.deps.discount} EUR ({type(ctx.deps).__name__})"


assistant = TemporalAgent(
    Agent(model="gpt-4o", tools=[record, slow, send_email], tool_concurrency=1),
    name="assistant",
    model_activity=QUICK,
    tool_activity=QUICK,
)
researcher = TemporalAgent(
    Agent(model="gpt-4o", tools=[record], background=True),
    name="researcher",
    model_activity=QUICK,
    tool_activity=QUICK,
)
reasoner = TemporalAgent(
    Agent(model="o4-mini", tools=[record], store=False), name="reasoner", tool_activity=QUICK
)
notetaker = TemporalAgent(
    Agent(
        model="gpt-4o",
        tools=[
            MCPServerStdio(
                sys.executable,
                args=[str(Path(__file__).with_name("notes_mcp.py"))],
                name="notes",
                env={"NOTES_TOKEN": NOTES_TOKEN},
            )
        ],
    ),
    name="notetaker",
)
librarian = TemporalAgent(
    Agent(
        model="gpt-4o",
        tools=[
            record,
            RemoteMCP(
                server_label="files",
                server_url=os.environ.get("FILES_MCP_URL", "http://127.0.0.1:9/mcp"),
                headers={"Authorization": f"Bearer {os.environ.get('FILES_MCP_TOKEN', 'none')}"},
                require_approval="never",
            ),
        ],
    ),
    name="librarian",
)
clerk = TemporalAgent(Agent(model="gpt-4o", tools=[price]), name="clerk", deps_type=Shop)
analyst = TemporalAgent(
    Agent(model="gpt-4.1", tools=[CodeInterpreter()], store=False), name="analyst"
)


@tool_input_guardrail(on_trip="correct", tools=["record"])
def no_secret_tags(ctx: RunContext[None], call: ToolCall) -> Verdict:
    """A tool guardrail: user code, so it runs in the tool's activity, never in the workflow."""
    secret = call.parsed_arguments.get("tag") == "secret"
    return tripped(f"pid {os.getpid()} keeps secrets") if secret else passed()


billing = Agent(
    model="gpt-4o-mini",
    name="billing",
    instructions="You handle refunds.",
    tools=[record, send_email],
    guardrails=[no_secret_tags],
)


class Seen(RunHooks):
    """Run hooks that note the steps they see in a file beside the effects (a workflow's copy
    of this module, in Temporal's sandbox, writes there too)."""

    @staticmethod
    def path() -> Path:
        return effects_file().with_suffix(".hooks")

    def steps(self) -> list[str]:
        return self.path().read_text().splitlines() if self.path().exists() else []

    def note(self, step: str) -> None:
        with self.path().open("a") as file:
            file.write(step + "\n")

    async def on_run_start(self, ctx: RunContext[Any], agent: str) -> None:
        self.note(f"start {agent}")

    async def on_model_end(
        self, ctx: RunContext[Any], agent: str, response: dict[str, Any]
    ) -> None:
        self.note(f"model {agent}")

    async def on_handoff(self, ctx: RunContext[Any], from_agent: str, to_agent: str) -> None:
        self.note(f"handoff {from_agent} -> {to_agent}")

    async def on_run_end(self, ctx: RunContext[Any], result: Any, error: Any) -> None:
        self.note("end")


seen = Seen()
desk = TemporalAgent(
    Agent(model="gpt-4o", name="desk", tools=[slow], handoffs=[billing], hooks=seen),
    name="desk",
    model_activity=QUICK,
    tool_activity=QUICK,
)
"""A team: `desk` hands conversations over to `billing`, whose calls are activities too."""


@input_guardrail
def no_card_numbers(ctx: RunContext[None], text: str) -> Verdict:
    """Sync: outside Temporal it runs in a thread, which a workflow could not start."""
    digits = sum(c.isdigit() for c in text)
    return tripped("the message holds a card number") if digits >= 12 else passed()


@output_guardrail(on_trip="correct")
async def polite(ctx: RunContext[None], answer: str) -> Verdict:
    """Async and with I/O (as one asking a judge agent would be): it notes where it ran."""
    with effects_file().with_suffix(".judged").open("a") as file:
        file.write(f"{os.getpid()} {answer}\n")
    return tripped("that was rude") if "rude" in answer else passed()


careful = TemporalAgent(
    Agent(model="gpt-4o", name="careful", guardrails=[no_card_numbers, polite]),
    name="careful",
    model_activity=QUICK,
    tool_activity=QUICK,
)
SPANS = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(SPANS))
traced = TemporalAgent(
    Agent(
        model="gpt-4o",
        name="traced",
        tools=[record],
        tracing=Tracing(tracer_provider=PROVIDER),
        hooks=seen,
    ),
    name="traced",
    model_activity=QUICK,
    tool_activity=QUICK,
)
"""Traced with OpenTelemetry, as a worker with a configured SDK traces every agent."""
AGENTS = [
    assistant, researcher, reasoner, notetaker, librarian, clerk, analyst, desk, careful, traced
]  # fmt: skip


@workflow.defn
class Quote:
    """A workflow of the user's own that runs an agent with a typed context."""

    @workflow.run
    async def run(self, item: str) -> str:
        result = await clerk.run(f"price of {item}", context=Shop("Corner", discount=10))
        return result.output


@workflow.defn
class Desk:
    """A workflow of the user's own around a run that may be handed over."""

    @workflow.run
    async def run(self, question: str) -> str:
        result = await desk.run(question)
        return f"{result.agent}: {result.output}"


@workflow.defn
class Careful:
    """A workflow of the user's own around a run with input and output guardrails."""

    @workflow.run
    async def run(self, question: str) -> str:
        result = await careful.run(question)
        return result.output


@workflow.defn
class Traced:
    """A workflow of the user's own around a traced run."""

    @workflow.run
    async def run(self, question: str) -> str:
        result = await traced.run(question)
        return result.output


@workflow.defn
class Research:
    """A workflow of the user's own around one background-mode run."""

    @workflow.run
    async def run(self, topic: str) -> str:
        result = await researcher.run(topic)
        return result.output


async def connect(address: str) -> Client:
    return await Client.connect(address, plugins=[AgentkitPlugin(AGENTS)])


def make_worker(client: Client, task_queue: str) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[Quote, Research, Desk, Careful, Traced],
        # A SIGKILLed worker's cached workflows wait this long before another worker takes them.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
    )
