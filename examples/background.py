"""Background runs: the service runs each model call on its side; the run streams its progress,
survives dropped and silent connections, and can be cancelled and resumed.

Run it: `python examples/background.py`
"""

from __future__ import annotations

import asyncio

from agentkit import (
    Agent,
    BackgroundStatus,
    CodeInterpreter,
    FinalResult,
    HostedToolProgress,
    RunCancelled,
    TextDelta,
    local_fallback,
)

# The local server runs the ```python blocks a message brings; a real model writes its own code.
SLOW_SUM = """Add up the first million numbers, slowly:
```python
import time
time.sleep(1)
print(sum(range(1_000_001)))
```"""

agent = Agent(model="gpt-4.1", tools=[CodeInterpreter()], background=True)


async def watch() -> None:
    """Stream a background run: its status, the code interpreter's progress, the answer."""
    async for event in agent.stream(SLOW_SUM):
        match event:
            case BackgroundStatus(status=status):
                print(f"[response {status}]")
            case HostedToolProgress(tool=tool, status=status):
                print(f"[{tool} {status}]")
            case TextDelta(delta=text):
                print(text, end="", flush=True)
            case FinalResult(result=result):
                print(f"\n({result.usage.requests} model call)")


async def cancel_and_resume() -> None:
    """Cancel a run while its code runs; resume it later from its state."""
    handle = agent.start(SLOW_SUM)
    await asyncio.sleep(0.5)  # the cell is running on the service now
    state = await handle.cancel()  # cancels the background response on the service too
    try:
        await handle
    except RunCancelled as error:
        print(f"cancelled: run {error.state.run_id[:8]}… is {error.state.status}")
    assert state is not None
    result = await agent.resume(state)
    print(f"resumed: {result.output}")


async def main() -> None:
    async with agent:
        await watch()
        await cancel_and_resume()


if __name__ == "__main__":
    if local_fallback():
        print("(no endpoint configured: agentkit's embedded local server answers)")
    asyncio.run(main())
