"""Streaming: typed events as the run happens: text as it is written, tool calls and results.

Run it: `python examples/streaming.py`
"""

from __future__ import annotations

import asyncio

from agentkit import (
    Agent,
    FinalResult,
    TextDelta,
    ToolCallStarted,
    ToolResult,
    local_fallback,
    tool,
)


@tool
async def get_weather(city: str) -> dict[str, object]:
    """Get the current weather in a city."""
    await asyncio.sleep(0.1)  # e.g. an HTTP call
    return {"city": city, "temperature_c": 21, "sky": "sunny"}


agent = Agent(model="gpt-4o", tools=[get_weather])


async def main() -> None:
    async with agent:  # closes the agent's HTTP client at the end
        async for event in agent.stream("What's the weather in Paris?"):
            match event:
                case TextDelta(delta=text):
                    print(text, end="", flush=True)
                case ToolCallStarted(name=name, arguments=arguments):
                    print(f"-> calling {name}({arguments})")
                case ToolResult(name=name, output=output):
                    print(f"<- {name} returned {output}")
                case FinalResult(result=result):
                    usage = result.usage
                    print(f"\n({usage.requests} model calls, {usage.total_tokens} tokens)")


if __name__ == "__main__":
    if local_fallback():
        print("(no endpoint configured: agentkit's embedded local server answers)")
    asyncio.run(main())
