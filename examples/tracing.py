"""OpenTelemetry tracing: a run's spans, printed by the console exporter.

agentkit traces runs when an OpenTelemetry SDK is configured (here: a tracer provider with a
console exporter): one `invoke_agent` span per run, `chat` per model call, `execute_tool` per
tool call, `handoff` and `guardrail` spans, with the GenAI semantic conventions' attributes.
Prompts and answers stay out of the spans unless `Tracing(content=True)`.

Needs `pip install agentkit-responses[otel] opentelemetry-sdk`. Run it: `python examples/tracing.py`
"""

from __future__ import annotations

import asyncio

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from agentkit import Agent, local_fallback, tool

SHOWN = (
    "gen_ai.agent.name",
    "gen_ai.request.model",
    "gen_ai.tool.name",
    "gen_ai.usage.output_tokens",
    "agentkit.handoff.to",
)


def one_line(span: ReadableSpan) -> str:
    """A span as one line: its name, its parent's name and a few attributes."""
    attributes = span.attributes or {}
    shown = ", ".join(f"{key}={attributes[key]}" for key in SHOWN if key in attributes)
    return f"span {span.name} [{shown}]\n"


provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(formatter=one_line)))
trace.set_tracer_provider(provider)


@tool
def lookup_invoice(invoice_id: int) -> str:
    """Look up an invoice by its number."""
    return f"invoice {invoice_id}: 120 EUR, paid"


billing = Agent(name="billing", model="gpt-4o-mini", tools=[lookup_invoice])
triage = Agent(name="triage", model="gpt-4o", handoffs=[billing])


async def main() -> None:
    result = await triage.run("A billing question: please lookup invoice 7.")
    print(f"{result.agent}: {result.output}")


if __name__ == "__main__":
    if local_fallback():
        print("(no endpoint configured: agentkit's embedded local server answers)")
    asyncio.run(main())
    provider.shutdown()
