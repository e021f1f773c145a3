"""What type checkers see of agentkit's public API: checked by mypy (strict) and pyright (strict).

Never run, only checked (`./dev lint`). `assert_type` fails the check when a type changes; a
line that must be an error carries `# type: ignore[code]`, which both checkers report when it
is not needed any more (mypy: warn_unused_ignores, pyright: reportUnnecessaryTypeIgnoreComment).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from typing import Any, Literal, assert_type

from pydantic import BaseModel
from typing_extensions import TypedDict

from agentkit import (
    Agent,
    AgentRun,
    End,
    FinalResult,
    FunctionTool,
    ModelResponse,
    RunContext,
    RunEvent,
    RunHandle,
    RunNode,
    RunResult,
    ToolsRan,
    tool,
)


class Reply(BaseModel):
    text: str
    confidence: float


class Point(TypedDict):
    x: int
    y: int


@dataclass
class Deps:
    user: str


class OtherDeps:
    pass


@tool
def whoami(ctx: RunContext[Deps]) -> str:
    """Who is asking."""
    return ctx.deps.user


@tool(timeout=5)
def shout(ctx: RunContext[Deps], text: str) -> str:
    """Say it louder."""
    return f"{ctx.deps.user}: {text.upper()}"


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def plain(city: str) -> str:
    """A plain function is a tool too (unchecked: nothing in it names the deps)."""
    return city


def instructions(ctx: RunContext[Deps]) -> str:
    return f"Help {ctx.deps.user}."


# --- tools -----------------------------------------------------------------------------------

assert_type(whoami, FunctionTool[Deps])
assert_type(shout, FunctionTool[Deps])
assert_type(add, FunctionTool[Any])


# --- the output type flows from `output_type` to the result --------------------------------


def sync_results() -> None:
    text_agent = Agent(model="gpt-4o")
    assert_type(text_agent, Agent[Any, str])
    assert_type(text_agent.run_sync("hi").output, str)

    agent = Agent(model="gpt-4o", output_type=Reply)
    assert_type(agent, Agent[Any, Reply])
    result = agent.run_sync("hi")
    assert_type(result, RunResult[Reply])
    assert_type(result.output, Reply)
    assert_type(agent.resume_sync(result.state).output, Reply)

    assert_type(Agent(model="m", output_type=Point).run_sync("p").output, Point)
    assert_type(Agent(model="m", output_type=list[Reply]).run_sync("p").output, list[Reply])
    assert_type(Agent(model="m", output_type=int).run_sync("p").output, int)

    # A union or Literal is no class: name the output type on the agent as well.
    choice = Agent[None, Literal["yes", "no"]](model="m", output_type=Literal["yes", "no"])
    assert_type(choice.run_sync("p").output, Literal["yes", "no"])
    maybe = Agent[None, int | None](model="m", output_type=int | None)
    assert_type(maybe.run_sync("p").output, int | None)

    events = agent.stream_sync("hi")
    assert_type(events, Iterator[RunEvent[Reply]])
    for event in events:
        if isinstance(event, FinalResult):
            assert_type(event.result.output, Reply)


async def async_results() -> None:
    agent = Agent(model="gpt-4o", output_type=Reply)
    assert_type((await agent.run("hi")).output, Reply)
    assert_type((await agent.resume("run-1")).output, Reply)

    handle = agent.start("hi")
    assert_type(handle, RunHandle[Reply])
    assert_type((await handle).output, Reply)

    stream = agent.stream("hi")
    assert_type(stream, AsyncGenerator[RunEvent[Reply], None])
    async for event in stream:
        if isinstance(event, FinalResult):
            assert_type(event.result.output, Reply)

    async with agent.iter("hi") as run:
        assert_type(run, AgentRun[Reply])
        async for node in run:
            assert_type(node, RunNode[Reply])
            if isinstance(node, ModelResponse):
                assert_type(node.tool_calls, list[dict[str, Any]])
            elif isinstance(node, ToolsRan):
                assert_type(node.results[0].output, str)
            else:
                assert_type(node, End[Reply])
                assert_type(node.result.output, Reply)
    if run.result is not None:
        assert_type(run.result.output, Reply)

    async with agent as entered:
        assert_type(entered, Agent[Any, Reply])


# --- deps: `deps_type` names them; tools and `context=` are checked against it ---------------


def deps_checked() -> None:
    agent = Agent(
        model="gpt-4o",
        deps_type=Deps,
        instructions=instructions,
        tools=[whoami, shout, add, plain],
        output_type=Reply,
    )
    assert_type(agent, Agent[Deps, Reply])
    assert_type(agent.run_sync("hi", context=Deps("ada")).output, Reply)

    agent.run_sync("hi", context=OtherDeps())  # type: ignore[arg-type]
    Agent(model="gpt-4o", deps_type=OtherDeps, tools=[whoami])  # type: ignore[misc]
    Agent(model="gpt-4o", deps_type=OtherDeps, instructions=instructions)  # type: ignore[arg-type]

    # Without `deps_type`, mypy infers the deps from the tools and pyright takes Any.
    Agent(model="gpt-4o", tools=[whoami]).run_sync("hi", context=Deps("ada"))
    assert_type(Agent(model="gpt-4o", tools=[add]), Agent[Any, str])


# --- code written before agents were typed still checks --------------------------------------


def older_code(agent: Agent) -> RunResult:
    assert_type(agent, Agent[Any, str])
    return agent.run_sync("hi", context={"anything": 1})
