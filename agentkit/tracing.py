"""OpenTelemetry spans and lifecycle hooks for a run, called at the run's steps.

Spans follow the OpenTelemetry GenAI semantic conventions: `invoke_agent {agent}` for a run
(an agent used as a tool nests its own under the tool's span), `chat {model}` for each model
call, `execute_tool {tool}` for each function tool call, and agentkit's own `handoff {agent}`
and `guardrail {name}` spans. Prompts, answers, tool arguments and outputs are recorded only
with `Tracing(content=True)`. The spans of a resumed run (after a pause, a failure or a crash)
link to the run's first span.

`opentelemetry-api` is optional (`pip install agentkit-responses[otel]`) and imported only when the
program has imported it (configuring an SDK does): with no SDK configured nothing is wrapped,
so tracing costs nothing.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from agentkit.context import RunContext
from agentkit.model.call import Attachment, Finished
from agentkit.run.calls import ToolCall, ToolRunner
from agentkit.run.conversation import Item
from agentkit.run.events import (
    ApprovalDecided,
    ApprovalRequested,
    FinalResult,
    HandedOff,
    RunEvent,
)
from agentkit.run.subruns import SubRunPaused
from agentkit.tools import FunctionTool
from agentkit.tools.function import ToolOutput, output_text

if TYPE_CHECKING:
    from agentkit.hooks import RunHooks
    from agentkit.run.model_call import ModelCaller
    from agentkit.run.result import RunResult
    from agentkit.run.state import RunState

__all__ = ["NO_OBSERVER", "Observer", "Tracing"]

Span = Any
Attributes = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Tracing:
    """How a run is traced with OpenTelemetry.

    Args:
        content: Record prompts, instructions, answers, tool arguments and outputs on the
            spans (they may hold personal data; off by default).
        tracer_provider: The provider to trace with (default: the global one).
        enabled: False turns tracing off for the agent.
    """

    content: bool = False
    tracer_provider: Any = None
    enabled: bool = True


def _tracer(tracing: Tracing | None) -> Any:
    """A tracer when OpenTelemetry is imported and an SDK is configured, else None."""
    if tracing is None or not tracing.enabled:
        return None
    if tracing.tracer_provider is None and "opentelemetry.trace" not in sys.modules:
        return None  # nothing imported OpenTelemetry, so nothing configured it
    from opentelemetry import trace

    provider = tracing.tracer_provider or trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return None
    from agentkit import __version__

    return provider.get_tracer("agentkit", __version__)


class Observer:
    """One run's spans and hooks. With neither, `watching` is False and nothing is wrapped."""

    def __init__(
        self,
        hooks: RunHooks | None,
        tracing: Tracing | None,
        deps: Any,
        endpoint: Callable[[], tuple[str, str | None, int | None]] | None = None,
    ) -> None:
        self.hooks = hooks
        self.tracer = _tracer(tracing)
        self.content = bool(tracing and tracing.content)
        self.deps = deps
        self.watching = hooks is not None or self.tracer is not None
        self._endpoint = endpoint if self.tracer is not None else None
        self._server: tuple[str, str | None, int | None] | None = None
        self.run_span: Span = None
        self.state: RunState | None = None

    # --- the run ---------------------------------------------------------------------------

    def running(
        self, agent: str, model: str, state: RunState
    ) -> contextlib.AbstractAsyncContextManager[Callable[[RunEvent], Awaitable[None]]]:
        """The run's span and its start and end hooks; gives what to call with each event."""
        return self._running(agent, model, state) if self.watching else _UNWATCHED

    @contextlib.asynccontextmanager
    async def _running(
        self, agent: str, model: str, state: RunState
    ) -> AsyncIterator[Callable[[RunEvent], Awaitable[None]]]:
        self.state = state
        self.run_span = self._run_span(agent, model, state)
        ctx = self.context(model)
        if self.hooks is not None:
            await self.hooks.on_run_start(ctx, agent)
        outcome: list[RunResult[Any]] = []

        async def seen(event: RunEvent) -> None:
            if isinstance(event, FinalResult):
                outcome.append(event.result)
            await self._event(event, ctx)

        try:
            yield seen
        except BaseException as error:
            self._end_run(state, error)
            if self.hooks is not None and not isinstance(error, GeneratorExit):
                await self.hooks.on_run_end(ctx, None, error)
            raise
        self._end_run(state, None)
        if self.hooks is not None:
            await self.hooks.on_run_end(ctx, outcome[-1] if outcome else None, None)

    def context(self, model: str = "") -> RunContext[Any]:
        state = self.state
        if state is None:
            return RunContext(self.deps, model=model)
        return RunContext(self.deps, turn=state.turn, model=model, run_id=state.run_id)

    def _run_span(self, agent: str, model: str, state: RunState) -> Span:
        if self.tracer is None:
            return None
        attributes = {
            **self._common("invoke_agent", agent),
            "gen_ai.request.model": model,
            "agentkit.run_id": state.run_id,
        }
        links = _links(state.trace)
        if links:
            attributes["agentkit.resumed"] = True
        span = self.tracer.start_span(f"invoke_agent {agent}", attributes=attributes, links=links)
        if not span.is_recording():  # a sampler said no: no child spans either
            self.tracer = None
            return None
        if state.trace is None:
            context = span.get_span_context()
            state.trace = {
                "trace_id": format(context.trace_id, "032x"),
                "span_id": format(context.span_id, "016x"),
            }
        return span

    def _end_run(self, state: RunState, error: BaseException | None) -> None:
        span = self.run_span
        if span is None:
            return
        span.set_attributes(
            {
                "gen_ai.usage.input_tokens": state.usage.input_tokens,
                "gen_ai.usage.output_tokens": state.usage.output_tokens,
                "agentkit.run.status": state.status,
                "agentkit.agent": state.agent or "",
            }
        )
        _end(span, None if isinstance(error, GeneratorExit) else error)

    async def _event(self, event: RunEvent, ctx: RunContext[Any]) -> None:
        if isinstance(event, HandedOff):
            self._instant(
                f"handoff {event.to_agent}",
                {
                    "agentkit.handoff.from": event.from_agent,
                    "agentkit.handoff.to": event.to_agent,
                    "gen_ai.tool.call.id": event.call_id,
                },
            )
            if self.hooks is not None:
                await self.hooks.on_handoff(ctx, event.from_agent, event.to_agent)
        elif self.hooks is not None and isinstance(event, ApprovalRequested):
            await self.hooks.on_approval(ctx, event.request, None)
        elif self.hooks is not None and isinstance(event, ApprovalDecided):
            await self.hooks.on_approval(ctx, event.request, event.decision)

    # --- model calls -----------------------------------------------------------------------

    def model_caller(self, caller: ModelCaller, agent: str) -> ModelCaller:
        """`caller` with a `chat` span and the model hooks around each call."""
        if not self.watching:
            return caller

        def call(
            body: dict[str, Any],
            *,
            attachment: Attachment | None,
            on_attach: Callable[[Attachment], Awaitable[None]],
        ) -> AsyncIterator[dict[str, Any] | Finished]:
            return self._model_call(caller, agent, body, attachment, on_attach)

        return call

    async def _model_call(
        self,
        caller: ModelCaller,
        agent: str,
        body: dict[str, Any],
        attachment: Attachment | None,
        on_attach: Callable[[Attachment], Awaitable[None]],
    ) -> AsyncIterator[dict[str, Any] | Finished]:
        span = self._child(f"chat {body['model']}", self._request(agent, body), client=True)
        ctx = self.context(body["model"])
        if self.hooks is not None:
            await self.hooks.on_model_start(ctx, agent, body)
        try:
            events = caller(body, attachment=attachment, on_attach=on_attach)
            async with contextlib.aclosing(cast(AsyncGenerator[Any, None], events)):
                async for item in events:
                    if isinstance(item, Finished):  # the run may not ask for more: end here
                        self._response(span, item.body)
                        _end(span, None)
                        span = None
                        if self.hooks is not None:
                            await self.hooks.on_model_end(ctx, agent, item.body)
                    yield item
        except BaseException as error:
            _end(span, None if isinstance(error, GeneratorExit) else error)
            raise
        _end(span, None)

    def _request(self, agent: str, body: dict[str, Any]) -> Attributes:
        attributes = {
            **self._common("chat", agent),
            "gen_ai.request.model": body["model"],
            **{
                key: body[name]
                for name, key in (
                    ("temperature", "gen_ai.request.temperature"),
                    ("top_p", "gen_ai.request.top_p"),
                    ("max_output_tokens", "gen_ai.request.max_tokens"),
                )
                if body.get(name) is not None
            },
        }
        if "previous_response_id" in body:
            attributes["openai.request.previous_response_id"] = body["previous_response_id"]
        if self.content:
            if body.get("instructions"):
                attributes["gen_ai.system_instructions"] = json.dumps(
                    [{"type": "text", "content": body["instructions"]}]
                )
            attributes["gen_ai.input.messages"] = json.dumps(messages(body.get("input", [])))
        return attributes

    def _response(self, span: Span, body: dict[str, Any]) -> None:
        if span is None:
            return
        usage = body.get("usage") or {}
        cached = (usage.get("input_tokens_details") or {}).get("cached_tokens")
        finish = (body.get("incomplete_details") or {}).get("reason") or "stop"
        span.set_attributes(
            {
                "gen_ai.response.id": body.get("id", ""),
                "gen_ai.response.model": body.get("model", ""),
                "gen_ai.usage.input_tokens": usage.get("input_tokens", 0),
                "gen_ai.usage.output_tokens": usage.get("output_tokens", 0),
                "gen_ai.usage.cache_read.input_tokens": cached or 0,
                "gen_ai.response.finish_reasons": [finish],
            }
        )
        if self.content:
            output = messages(body.get("output", []), finish)
            span.set_attribute("gen_ai.output.messages", json.dumps(output))

    # --- tool calls ------------------------------------------------------------------------

    def tool_runner(self, runner: ToolRunner, agent: str) -> ToolRunner:
        """`runner` with an `execute_tool` span (current while the tool runs, so a sub-run's
        spans nest under it) and the tool hooks around each call."""
        if not self.watching:
            return runner

        async def run(tool: FunctionTool, ctx: RunContext[Any], call: Item) -> ToolOutput:
            return await self._tool_call(runner, agent, tool, ctx, call)

        return run

    async def _tool_call(
        self, runner: ToolRunner, agent: str, tool: FunctionTool, ctx: RunContext[Any], call: Item
    ) -> ToolOutput:
        info = ToolCall.of(call)
        attributes = {
            **self._common("execute_tool", agent),
            "gen_ai.tool.name": tool.name,
            "gen_ai.tool.call.id": info.call_id,
            "gen_ai.tool.type": "function",
            "gen_ai.tool.description": tool.description,
        }
        if self.content:
            attributes["gen_ai.tool.call.arguments"] = info.arguments
        span = self._child(f"execute_tool {tool.name}", attributes)
        if self.hooks is not None:
            await self.hooks.on_tool_start(ctx, agent, info)
        try:
            with _current(span):
                output = await runner(tool, ctx, call)
        except SubRunPaused:
            if span is not None:
                span.set_attribute("agentkit.paused", True)
            _end(span, None)
            raise
        except BaseException as error:
            _end(span, error)
            raise
        text = output_text(output)
        if span is not None:
            if self.content:
                span.set_attribute("gen_ai.tool.call.result", text)
            _end(span, None)
        if self.hooks is not None:
            await self.hooks.on_tool_end(ctx, agent, info, text)
        return output

    # --- guardrails ------------------------------------------------------------------------

    @contextlib.contextmanager
    def guardrail_span(self, name: str, kind: str) -> Iterator[Callable[[bool], None]]:
        """A `guardrail {name}` span around one check; yields what records its verdict."""
        attributes = {"agentkit.guardrail.name": name, "agentkit.guardrail.kind": kind}
        # a tool's guardrails run inside its call, whose span is current there
        span = self._child(f"guardrail {name}", attributes, current=kind.startswith("tool"))

        def record(tripped: bool) -> None:
            if span is not None:
                span.set_attribute("agentkit.guardrail.tripped", tripped)

        try:
            yield record
        except BaseException as error:
            _end(span, error)
            raise
        _end(span, None)

    # --- spans -----------------------------------------------------------------------------

    def _common(self, operation: str, agent: str) -> Attributes:
        if self._server is None:  # on the first span: making a setup needs no client
            self._server = self._endpoint() if self._endpoint else ("openai", None, None)
        provider, host, port = self._server
        attributes: Attributes = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": provider,
            "gen_ai.agent.name": agent,
        }
        if host is not None:
            attributes["server.address"] = host
            if port is not None:
                attributes["server.port"] = port
        return attributes

    def _child(
        self, name: str, attributes: Attributes, *, client: bool = False, current: bool = False
    ) -> Span:
        """A span under the run's (or, `current`, under the span current in this task)."""
        if self.tracer is None or self.run_span is None:
            return None
        from opentelemetry import trace

        parent = None if current else trace.set_span_in_context(self.run_span)
        kind = trace.SpanKind.CLIENT if client else trace.SpanKind.INTERNAL
        return self.tracer.start_span(name, context=parent, kind=kind, attributes=attributes)

    def _instant(self, name: str, attributes: Attributes) -> None:
        _end(self._child(name, attributes), None)


async def _ignore(event: RunEvent) -> None:
    """What a run without spans or hooks does with its events."""


class _Unwatched(contextlib.AbstractAsyncContextManager[Callable[[RunEvent], Awaitable[None]]]):
    """A run without spans or hooks: its events go nowhere."""

    async def __aenter__(self) -> Callable[[RunEvent], Awaitable[None]]:
        return _ignore

    async def __aexit__(self, *exc: object) -> None:
        return None


_UNWATCHED = _Unwatched()
NO_OBSERVER = Observer(None, None, None)
"""Neither spans nor hooks (runs made without an agent, e.g. in tests of the loop)."""


def _links(trace_ids: dict[str, str] | None) -> list[Any]:
    if trace_ids is None:
        return []
    from opentelemetry import trace

    context = trace.SpanContext(
        int(trace_ids["trace_id"], 16),
        int(trace_ids["span_id"], 16),
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )
    return [trace.Link(context, {"agentkit.link": "resumed_from"})]


@contextlib.contextmanager
def _current(span: Span) -> Iterator[None]:
    if span is None:
        yield
        return
    from opentelemetry import trace

    with trace.use_span(
        span, end_on_exit=False, record_exception=False, set_status_on_exception=False
    ):
        yield


def _end(span: Span, error: BaseException | None) -> None:
    if span is None:
        return
    if error is not None:
        from opentelemetry.trace import Status, StatusCode

        code = getattr(error, "code", None)
        span.set_attribute("error.type", str(code) if code else type(error).__qualname__)
        span.set_status(Status(StatusCode.ERROR, str(error)[:500]))
    span.end()


# --- content as the conventions' messages --------------------------------------------------------


def messages(items: list[Item], finish: str | None = None) -> list[dict[str, Any]]:
    """Responses items as GenAI `input.messages` / `output.messages` (text, tool calls, results)."""
    found: list[dict[str, Any]] = []
    for item in items:
        message = _message(item)
        if message is None:
            continue
        if found and found[-1]["role"] == message["role"] == "assistant":
            found[-1]["parts"].extend(message["parts"])
        else:
            found.append(message)
    if finish is not None:
        for message in found:
            message["finish_reason"] = finish
    return found


def _message(item: Item) -> dict[str, Any] | None:
    kind = item.get("type", "message")
    if kind == "message":
        content = item.get("content")
        texts = (
            [content]
            if isinstance(content, str)
            else [
                p.get("text") or p.get("refusal") or ""
                for p in content or []
                if isinstance(p, dict)
            ]
        )
        parts = [{"type": "text", "content": t} for t in texts if t]
        return {"role": item.get("role", "user"), "parts": parts}
    if kind == "function_call":
        call = ToolCall.of(item)
        part: dict[str, Any] = {"type": "tool_call", "id": call.call_id, "name": call.name}
        return {"role": "assistant", "parts": [{**part, "arguments": call.parsed_arguments}]}
    if kind == "function_call_output":
        output = item.get("output")
        text = output if isinstance(output, str) else output_text(output or [])
        part = {"type": "tool_call_response", "id": item.get("call_id"), "response": text}
        return {"role": "tool", "parts": [part]}
    if kind == "reasoning":
        summary = " ".join(p.get("text", "") for p in item.get("summary") or [])
        return {"role": "assistant", "parts": [{"type": "reasoning", "content": summary}]}
    return None
