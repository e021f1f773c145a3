"""Client CPU per model turn: agentkit vs hand-written loops, against the local server.

Not a test. Run: `.venv/bin/python bench/turn_overhead.py`. The server runs in a background
thread; only the client thread's CPU (`time.thread_time`) is counted, so the numbers are the
client's own cost of building requests, sending them and parsing responses.

Scenarios:
  A. 200 runs of a 2-turn tool loop (store=True, chained by previous_response_id).
  B. one 50-turn store=False run (the whole transcript resent by value each turn).

Each scenario runs ROUNDS times with the loops interleaved; the best round of each loop counts,
so a moment when the machine is busy with something else spoils one round, not the ratio.

Loops compared: (1) agentkit with an async tool, (2) agentkit with a sync tool (run in a worker
thread), (3) a hand-written loop over `client.responses.create(input=...)`, (4) a hand-written
loop sending a pre-built body with `client.post` and the SDK's typed `Response`, (5) the floor:
a pre-built body sent with `client.post`, its answer read as plain JSON (no typed parse).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
import openai
from openai.types.responses import Response

from agentkit import Agent, tool
from agentkit.server import LocalServer
from agentkit.server.engines import Call, Say

MODEL = "gpt-4o"
RUNS_A = 200
TURNS_B = 50
ROUNDS = 3
PROMPT = "What is the weather in Paris?"
TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Get the weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    }
]


@tool
async def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return json.dumps({"city": city, "temperature_c": 21})


@tool(name="get_weather")
def get_weather_sync(city: str) -> str:
    """Get the weather for a city."""
    return json.dumps({"city": city, "temperature_c": 21})


async def weather(arguments: str) -> str:
    return json.dumps({"city": json.loads(arguments)["city"], "temperature_c": 21})


# --- the three loops -----------------------------------------------------------------------


async def agentkit_loop(client: openai.AsyncOpenAI, store: bool, max_turns: int) -> None:
    agent = Agent(model=MODEL, tools=[get_weather], client=client, store=store, max_turns=max_turns)
    await agent.run(PROMPT)


async def agentkit_sync_tool_loop(client: openai.AsyncOpenAI, store: bool, max_turns: int) -> None:
    agent = Agent(
        model=MODEL, tools=[get_weather_sync], client=client, store=store, max_turns=max_turns
    )
    await agent.run(PROMPT)


async def sdk_loop(client: openai.AsyncOpenAI, store: bool, max_turns: int) -> None:
    extra: dict[str, Any] = {} if store else {"include": ["reasoning.encrypted_content"]}
    items: list[Any] = [{"role": "user", "content": PROMPT}]
    previous: str | None = None
    for _ in range(max_turns):
        response = await client.responses.create(
            model=MODEL,
            input=items,
            tools=TOOLS,  # type: ignore[arg-type]
            store=store,
            previous_response_id=previous if store else openai.omit,
            **extra,
        )
        calls = [o for o in response.output if o.type == "function_call"]
        if store:
            previous, items = response.id, []
        else:
            items += response.output
        if not calls:
            return
        for call in calls:
            output = await weather(call.arguments)
            items.append(
                {"type": "function_call_output", "call_id": call.call_id, "output": output}
            )


async def prebuilt_loop(client: openai.AsyncOpenAI, store: bool, max_turns: int) -> None:
    await _prebuilt(client, store, max_turns, raw=False)


async def raw_loop(client: openai.AsyncOpenAI, store: bool, max_turns: int) -> None:
    await _prebuilt(client, store, max_turns, raw=True)


async def _prebuilt(client: openai.AsyncOpenAI, store: bool, max_turns: int, *, raw: bool) -> None:
    items: list[dict[str, Any]] = [{"type": "message", "role": "user", "content": PROMPT}]
    previous: str | None = None
    for _ in range(max_turns):
        body: dict[str, Any] = {"model": MODEL, "input": items, "tools": TOOLS, "store": store}
        if store and previous:
            body["previous_response_id"] = previous
        if not store:
            body["include"] = ["reasoning.encrypted_content"]
        if raw:
            answer = await client.post("/responses", cast_to=httpx2.Response, body=body)
            data = json.loads(answer.content)
            response_id, output = data["id"], data["output"]
        else:
            response = await client.post("/responses", cast_to=Response, body=body)
            response_id, output = response.id, [o.to_dict() for o in response.output]
        if store:
            previous, items = response_id, []
        else:
            items = items + output
        calls = [o for o in output if o["type"] == "function_call"]
        if not calls:
            return
        for call in calls:
            output_text = await weather(call["arguments"])
            items.append(
                {"type": "function_call_output", "call_id": call["call_id"], "output": output_text}
            )


Loop = Callable[[openai.AsyncOpenAI, bool, int], Awaitable[None]]
LOOPS: dict[str, Loop] = {
    "agentkit": agentkit_loop,
    "agentkit sync": agentkit_sync_tool_loop,
    "sdk create": sdk_loop,
    "prebuilt": prebuilt_loop,
    "raw floor": raw_loop,
}


# --- measuring -----------------------------------------------------------------------------


class TurnClock:
    """Records the client thread's CPU time at the start of every model request."""

    def __init__(self) -> None:
        self.marks: list[float] = []
        self._original = openai.AsyncOpenAI.post

    def __enter__(self) -> TurnClock:
        original = self._original

        async def timed_post(client: Any, *args: Any, **kwargs: Any) -> Any:
            self.marks.append(time.thread_time())
            return await original(client, *args, **kwargs)

        openai.AsyncOpenAI.post = timed_post  # type: ignore[method-assign, assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        openai.AsyncOpenAI.post = self._original  # type: ignore[method-assign]


def scenario_a(server: LocalServer, rounds: int = ROUNDS) -> dict[str, float]:
    """CPU seconds per model turn over RUNS_A two-turn runs, for each loop: the best of
    `rounds` rounds, the loops interleaved, so a busy moment of the machine hits one round."""
    results: dict[str, list[float]] = {name: [] for name in LOOPS}
    for _ in range(rounds):
        for name, loop in LOOPS.items():

            async def main(loop: Loop = loop) -> float:
                client = openai.AsyncOpenAI(
                    base_url=server.base_url, api_key="bench", max_retries=0
                )
                await loop(client, True, 5)  # warm up
                start = time.thread_time()
                for _ in range(RUNS_A):
                    await loop(client, True, 5)
                spent = time.thread_time() - start
                await client.close()
                return spent / (RUNS_A * 2)

            results[name].append(asyncio.run(main()))
    return {name: min(times) for name, times in results.items()}


def scenario_b(server: LocalServer, rounds: int = ROUNDS) -> dict[str, tuple[float, float, float]]:
    """Per loop: mean CPU per turn, and the 2nd and last turns' CPU, over one 50-turn run (the
    round with the lowest mean of `rounds` interleaved rounds)."""
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in LOOPS}
    for _ in range(rounds):
        for name, loop in LOOPS.items():
            script = [
                Call("get_weather", json.dumps({"city": f"City {i}"})) for i in range(TURNS_B - 1)
            ]
            server.scripted.queue(*script, Say("All done."))

            async def main(loop: Loop = loop) -> float:
                client = openai.AsyncOpenAI(
                    base_url=server.base_url, api_key="bench", max_retries=0
                )
                start = time.thread_time()
                await loop(client, False, TURNS_B + 5)
                spent = time.thread_time() - start
                await client.close()
                return spent

            with TurnClock() as clock:
                total = asyncio.run(main())
            turns = [b - a for a, b in zip(clock.marks, clock.marks[1:], strict=False)]
            results[name].append((total / TURNS_B, turns[1], turns[-1]))
    return {name: min(runs) for name, runs in results.items()}


def import_ratio(rounds: int = 10) -> float:
    """`import agentkit` time over `import openai` time: fresh interpreters, alternated, best of each."""

    def once(module: str) -> float:
        code = (
            f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
        )
        return float(subprocess.check_output([sys.executable, "-c", code]))

    agentkit_times, openai_times = [], []
    for _ in range(rounds):
        openai_times.append(once("openai"))
        agentkit_times.append(once("agentkit"))
    return min(agentkit_times) / min(openai_times)


def main() -> None:
    with LocalServer() as server:
        a = scenario_a(server)
    with LocalServer(engine="scripted") as server:
        b = scenario_b(server)
    print(f"A. {RUNS_A} runs of a 2-turn tool loop (client CPU per turn):")
    for name, seconds in a.items():
        print(f"   {name:<12} {seconds * 1e3:7.3f} ms")
    print(f"   agentkit / raw floor      = {a['agentkit'] / a['raw floor']:.2f}  (goal <= 1.20)")
    print(
        f"   agentkit sync / raw floor = {a['agentkit sync'] / a['raw floor']:.2f}  (goal <= 1.20)"
    )
    print(f"   agentkit / prebuilt       = {a['agentkit'] / a['prebuilt']:.2f}")
    print(f"   agentkit / sdk create     = {a['agentkit'] / a['sdk create']:.2f}")
    print(f"B. one {TURNS_B}-turn store=False run (client CPU per turn: mean, 2nd, last):")
    for name, (mean, second, last) in b.items():
        print(
            f"   {name:<12} {mean * 1e3:7.3f} ms  {second * 1e3:7.3f} ms  {last * 1e3:7.3f} ms  last/2nd {last / second:.2f}"
        )
    print(
        f"   agentkit / raw floor      = {b['agentkit'][0] / b['raw floor'][0]:.2f}  (goal <= 1.20)"
    )
    print(
        f"   agentkit sync / raw floor = {b['agentkit sync'][0] / b['raw floor'][0]:.2f}  (goal <= 1.20)"
    )
    print(f"   agentkit / prebuilt       = {b['agentkit'][0] / b['prebuilt'][0]:.2f}")
    print(f"   agentkit / sdk create     = {b['agentkit'][0] / b['sdk create'][0]:.2f}")
    print(f"   agentkit last/2nd turn = {b['agentkit'][2] / b['agentkit'][1]:.2f}  (goal <= 1.50)")
    print(f"import agentkit / import openai = {import_ratio():.2f}  (goal <= 1.15)")


if __name__ == "__main__":
    main()
