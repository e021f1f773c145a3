"""Guardrails: checks on a run's input, its final answer, and each tool call's arguments and output.

A guardrail is a (sync or async) function that returns a `Verdict`: `passed()` or
`tripped(message)`. Make one with a decorator and give it to the agent
(`Agent(..., guardrails=[...])`); its kind says where it runs:

- `@input_guardrail`: on the text of the run's input, before the first model call — or, with
  `alongside=True`, while it runs (its answer is not used until the guardrail passed).
- `@output_guardrail`: on the final answer, as an instance of the agent's `output_type`.
- `@tool_input_guardrail` / `@tool_output_guardrail`: on a call's arguments before the tool
  runs, and on what it returned.

A tripped guardrail stops the run with `GuardrailTripped` (carrying the state), or, with
`on_trip="correct"`, tells the model and lets it go on: the tool call's output says it was
blocked, the answer is sent back to fix (counted against `output_retries`), or the flagged
input is pointed out to the model. A guardrail may itself call an agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload

from agentkit.context import RunContext
from agentkit.errors import ConfigurationError, GuardrailTripped
from agentkit.run.calls import ToolCall, ToolRunner
from agentkit.run.conversation import Item
from agentkit.tools import FunctionTool
from agentkit.tools.function import ToolOutput, output_text

if TYPE_CHECKING:
    from agentkit.run.loop import RunSetup
    from agentkit.run.state import RunState
    from agentkit.tracing import Observer

GuardrailKind = Literal["input", "output", "tool_input", "tool_output"]
OnTrip = Literal["raise", "correct"]
T = TypeVar("T")
Check = Callable[..., Any]


@dataclass(frozen=True)
class Verdict:
    """A guardrail's answer. `info` is anything worth keeping (it rides on the error)."""

    tripped: bool
    message: str = ""
    info: Any = None


def passed(info: Any = None) -> Verdict:
    """The check found nothing wrong."""
    return Verdict(False, "", info)


def tripped(message: str, *, info: Any = None) -> Verdict:
    """The check failed; `message` says why (the model reads it when it is to correct itself)."""
    return Verdict(True, message, info)


@dataclass(frozen=True, kw_only=True)
class Guardrail:
    """A check of one kind; made by `input_guardrail`, `output_guardrail`,
    `tool_input_guardrail` or `tool_output_guardrail`."""

    kind: GuardrailKind
    name: str
    check: Check
    on_trip: OnTrip = "raise"
    alongside: bool = False
    """Input guardrails: run while the first model call runs instead of before it."""
    tools: frozenset[str] | None = None
    """Tool guardrails: the tools it checks (None: every function tool but handoffs)."""

    def __post_init__(self) -> None:
        if self.on_trip not in ("raise", "correct"):
            raise ConfigurationError(f"Guardrail {self.name!r}: on_trip must be raise or correct")
        if self.alongside and (self.kind != "input" or self.on_trip != "raise"):
            raise ConfigurationError(
                f"Guardrail {self.name!r}: alongside=True is for input guardrails that raise "
                "(a model call already under way cannot be corrected)"
            )

    async def verdict(self, ctx: RunContext[Any], *values: Any) -> Verdict:
        """Run the check (sync functions run in a worker thread)."""
        if inspect.iscoroutinefunction(self.check):
            answer = await self.check(ctx, *values)
        else:
            answer = await asyncio.to_thread(self.check, ctx, *values)
            if inspect.isawaitable(answer):
                answer = await answer
        if not isinstance(answer, Verdict):
            raise ConfigurationError(
                f"Guardrail {self.name!r} returned {answer!r}; return passed() or tripped(message)"
            )
        return answer

    def checks(self, tool: str) -> bool:
        return self.tools is None or tool in self.tools


# --- decorators -----------------------------------------------------------------------------


def _decorator(
    kind: GuardrailKind, func: Check | None, **options: Any
) -> Guardrail | Callable[[Check], Guardrail]:
    def make(check: Check) -> Guardrail:
        given = dict(options)  # one decorator may make several guardrails
        name = given.pop("name", None) or getattr(check, "__name__", kind)
        tools = given.pop("tools", None)
        return Guardrail(
            kind=kind,
            name=name,
            check=check,
            tools=None if tools is None else frozenset(tools),
            **given,
        )

    return make if func is None else make(func)


@overload
def input_guardrail(func: Check, /) -> Guardrail: ...
@overload
def input_guardrail(
    *, name: str | None = None, on_trip: OnTrip = "raise", alongside: bool = False
) -> Callable[[Check], Guardrail]: ...
def input_guardrail(
    func: Check | None = None,
    /,
    *,
    name: str | None = None,
    on_trip: OnTrip = "raise",
    alongside: bool = False,
) -> Guardrail | Callable[[Check], Guardrail]:
    """`check(ctx, text) -> Verdict`: `text` is the run's new input (its user messages)."""
    return _decorator("input", func, name=name, on_trip=on_trip, alongside=alongside)


@overload
def output_guardrail(func: Check, /) -> Guardrail: ...
@overload
def output_guardrail(
    *, name: str | None = None, on_trip: OnTrip = "raise"
) -> Callable[[Check], Guardrail]: ...
def output_guardrail(
    func: Check | None = None, /, *, name: str | None = None, on_trip: OnTrip = "raise"
) -> Guardrail | Callable[[Check], Guardrail]:
    """`check(ctx, output) -> Verdict`: `output` is the final answer, typed as the agent's
    `output_type` (a `str`, a pydantic model ...)."""
    return _decorator("output", func, name=name, on_trip=on_trip)


@overload
def tool_input_guardrail(func: Check, /) -> Guardrail: ...
@overload
def tool_input_guardrail(
    *, name: str | None = None, on_trip: OnTrip = "raise", tools: Collection[str] | None = None
) -> Callable[[Check], Guardrail]: ...
def tool_input_guardrail(
    func: Check | None = None,
    /,
    *,
    name: str | None = None,
    on_trip: OnTrip = "raise",
    tools: Collection[str] | None = None,
) -> Guardrail | Callable[[Check], Guardrail]:
    """`check(ctx, call: ToolCall) -> Verdict`, before the tool runs; tripped with
    `on_trip="correct"`, the tool does not run and the model reads why."""
    return _decorator("tool_input", func, name=name, on_trip=on_trip, tools=tools)


@overload
def tool_output_guardrail(func: Check, /) -> Guardrail: ...
@overload
def tool_output_guardrail(
    *, name: str | None = None, on_trip: OnTrip = "raise", tools: Collection[str] | None = None
) -> Callable[[Check], Guardrail]: ...
def tool_output_guardrail(
    func: Check | None = None,
    /,
    *,
    name: str | None = None,
    on_trip: OnTrip = "raise",
    tools: Collection[str] | None = None,
) -> Guardrail | Callable[[Check], Guardrail]:
    """`check(ctx, call: ToolCall, output: str) -> Verdict`, after the tool ran; tripped with
    `on_trip="correct"`, the model reads why instead of the output."""
    return _decorator("tool_output", func, name=name, on_trip=on_trip, tools=tools)


# --- running them -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Guardrails:
    """An agent's guardrails by kind."""

    input: tuple[Guardrail, ...] = ()
    output: tuple[Guardrail, ...] = ()
    tool_input: tuple[Guardrail, ...] = ()
    tool_output: tuple[Guardrail, ...] = ()

    @classmethod
    def of(cls, guardrails: Sequence[Guardrail]) -> Guardrails:
        for g in guardrails:
            if not isinstance(g, Guardrail):
                raise ConfigurationError(
                    f"{g!r} is not a guardrail: decorate it with @input_guardrail, "
                    "@output_guardrail, @tool_input_guardrail or @tool_output_guardrail"
                )
        by_kind = {k: tuple(g for g in guardrails if g.kind == k) for k in KINDS}
        return cls(**by_kind)

    @property
    def for_tools(self) -> bool:
        return bool(self.tool_input or self.tool_output)


KINDS: tuple[GuardrailKind, ...] = ("input", "output", "tool_input", "tool_output")
NONE = Guardrails()


async def _judge(
    guardrail: Guardrail, observer: Observer, ctx: RunContext[Any], *values: Any
) -> Verdict:
    with observer.guardrail_span(guardrail.name, guardrail.kind) as record:
        verdict = await guardrail.verdict(ctx, *values)
        record(verdict.tripped)
    return verdict


def _stop(guardrail: Guardrail, verdict: Verdict, state: RunState | None) -> GuardrailTripped:
    return GuardrailTripped(
        f"The {guardrail.kind.replace('_', ' ')} guardrail {guardrail.name!r} tripped: "
        f"{verdict.message}",
        state=state,
        guardrail=guardrail.name,
        kind=guardrail.kind,
        info=verdict.info,
    )


async def _all(
    guardrails: Sequence[Guardrail], observer: Observer, ctx: RunContext[Any], *values: Any
) -> list[tuple[Guardrail, Verdict]]:
    """Every guardrail's verdict (they run at once); the first tripped one that raises, raises."""
    verdicts = await asyncio.gather(*(_judge(g, observer, ctx, *values) for g in guardrails))
    results = list(zip(guardrails, verdicts, strict=True))
    for guardrail, verdict in results:
        if verdict.tripped and guardrail.on_trip == "raise":
            raise _stop(guardrail, verdict, None)
    return [(g, v) for g, v in results if v.tripped]


def input_text(state: RunState) -> str:
    """The text of the run's new input: its user messages."""
    texts = []
    for item in state.new_items:
        if item.get("type", "message") != "message" or item.get("role") != "user":
            continue
        content = item.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(p["text"] for p in content if p.get("type") == "input_text")
    return "\n".join(texts)


async def check_input(
    setup: RunSetup, state: RunState, ctx: RunContext[Any]
) -> asyncio.Task[list[tuple[Guardrail, Verdict]]] | None:
    """Run the input guardrails that go first (a correction becomes a developer message), and
    start those that go alongside the first model call: their task, for `alongside`."""
    rails = setup.guardrails.input
    if state.input_checked or not rails:
        return None
    text = input_text(state)
    for guardrail, verdict in await _all(
        [g for g in rails if not g.alongside], setup.observer, ctx, text
    ):
        state.conversation.items.append(_developer(_flagged(guardrail, verdict)))
    later = [g for g in rails if g.alongside]
    if not later:
        state.input_checked = True
        return None
    return asyncio.get_running_loop().create_task(_all(later, setup.observer, ctx, text))


async def alongside(
    checks: asyncio.Task[Any], state: RunState, events: AsyncIterator[T]
) -> AsyncIterator[T]:
    """`events` (a model call), stopped as soon as a guardrail running alongside trips; its
    answer is handed on only once they all passed."""
    async with contextlib.aclosing(cast(AsyncGenerator[T, None], events)):
        try:
            async for event in _until_done(checks, events):
                yield event
            await checks
        except BaseException:
            checks.cancel()
            raise
    state.input_checked = True


async def _until_done(checks: asyncio.Task[Any], events: AsyncIterator[T]) -> AsyncIterator[T]:
    """`events`, raising the checks' error as soon as they fail (passed: events as they come)."""
    while True:
        if checks.done():
            checks.result()  # raises if a guardrail tripped
            async for event in events:
                yield event
            return
        step = asyncio.ensure_future(anext(events))
        await asyncio.wait({step, checks}, return_when=asyncio.FIRST_COMPLETED)
        if checks.done() and checks.exception() is not None:
            step.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await step
            checks.result()
        try:
            event = await step
        except StopAsyncIteration:
            return
        yield event


async def check_output(setup: RunSetup, state: RunState, final: Any) -> str | None:
    """Run the output guardrails on the final answer: what to tell the model to fix it, or None."""
    rails = setup.guardrails.output
    if not rails:
        return None
    ctx = RunContext(setup.deps, turn=state.turn, model=setup.plan.model, run_id=state.run_id)
    found = await _all(rails, setup.observer, ctx, final)
    if not found:
        return None
    guardrail, verdict = found[0]
    if state.output_retries >= setup.output_retries:
        raise _stop(guardrail, verdict, state)
    return (
        f"Your answer was refused by the guardrail {guardrail.name!r}: {verdict.message} "
        "Answer again."
    )


def guarded(
    runner: ToolRunner, guardrails: Guardrails, observer: Observer, skip: Collection[str]
) -> ToolRunner:
    """`runner` with the tool guardrails around each call (handoffs, in `skip`, unchecked)."""

    async def run(tool: FunctionTool, ctx: RunContext[Any], call: Item) -> ToolOutput:
        if tool.name in skip:
            return await runner(tool, ctx, call)
        info = ToolCall.of(call)
        before = [g for g in guardrails.tool_input if g.checks(tool.name)]
        for guardrail, verdict in await _all(before, observer, ctx, info):
            return f"Error: the guardrail {guardrail.name!r} blocked this call: {verdict.message}"
        output = await runner(tool, ctx, call)
        after = [g for g in guardrails.tool_output if g.checks(tool.name)]
        for guardrail, verdict in await _all(after, observer, ctx, info, output_text(output)):
            return (
                f"Error: the guardrail {guardrail.name!r} withheld this output: {verdict.message}"
            )
        return output

    return run


def _flagged(guardrail: Guardrail, verdict: Verdict) -> str:
    return (
        f"The guardrail {guardrail.name!r} flagged the user's input: {verdict.message} "
        "Do not act on what it flagged; tell the user why."
    )


def _developer(text: str) -> Item:
    return {
        "type": "message",
        "role": "developer",
        "content": [{"type": "input_text", "text": text}],
    }
