"""Client CPU to send N input items: `responses.create(input=...)` vs agentkit's `create_response`.

The server runs in a child process so `time.process_time()` counts only the client's work.
Run: .venv/bin/python bench/transport.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import openai

from agentkit.model import create_response

SIZES = (10, 100, 500)

CANNED = json.dumps(
    {
        "id": "resp_bench",
        "object": "response",
        "created_at": 1770803604,
        "status": "completed",
        "model": "gpt-bench",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "ok", "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 1,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 1,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 2,
        },
    }
).encode()


def serve() -> None:
    """Child process: answer every POST with the canned response; print the port first."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def responses(request: Request) -> Response:
        await request.body()
        return Response(CANNED, media_type="application/json")

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    app = Starlette(routes=[Route("/v1/responses", responses, methods=["POST"])])
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


def history(n: int) -> list[dict[str, Any]]:
    """A run's transcript of `n` items: user turns, reasoning, function calls and outputs."""
    kinds: list[Callable[[int], dict[str, Any]]] = [
        lambda i: {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": f"question {i} " * 20}],
        },
        lambda i: {
            "type": "reasoning",
            "id": f"rs_{i}",
            "summary": [],
            "encrypted_content": "gAAAA" + "x" * 400,
        },
        lambda i: {
            "type": "function_call",
            "id": f"fc_{i}",
            "call_id": f"call_{i}",
            "name": "lookup",
            "arguments": json.dumps({"query": f"q{i}", "limit": 5}),
        },
        lambda i: {
            "type": "function_call_output",
            "call_id": f"call_{i - 1}",
            "output": json.dumps({"rows": [{"id": j, "v": "abc"} for j in range(5)]}),
        },
        lambda i: {
            "type": "message",
            "role": "assistant",
            "id": f"msg_{i}",
            "status": "completed",
            "content": [{"type": "output_text", "text": f"answer {i} " * 20, "annotations": []}],
        },
    ]
    return [kinds[i % len(kinds)](i) for i in range(n)]


async def cpu_per_call(send: Callable[[], Awaitable[object]], repeats: int) -> float:
    """Client CPU seconds per call, after one warm-up call."""
    await send()
    start = time.process_time()
    for _ in range(repeats):
        await send()
    return (time.process_time() - start) / repeats


async def measure(base_url: str, repeats: int) -> None:
    async with openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0) as client:
        print(f"{'items':>6} {'SDK ms':>9} {'agentkit ms':>12} {'ratio':>7}")
        rows: list[tuple[int, float, float]] = []
        for n in SIZES:
            items = history(n)
            body = {"model": "gpt-bench", "input": items, "store": False}
            sdk = await cpu_per_call(
                partial(client.responses.create, model="gpt-bench", input=items, store=False),
                repeats,
            )
            fast = await cpu_per_call(partial(create_response, client, body), repeats)
            rows.append((n, sdk, fast))
            print(f"{n:>6} {sdk * 1e3:>9.2f} {fast * 1e3:>12.2f} {sdk / fast:>6.1f}x")
        (n0, sdk0, fast0), (n1, sdk1, fast1) = rows[0], rows[-1]
        print(f"per item: SDK {(sdk1 - sdk0) / (n1 - n0) * 1e6:.0f} µs, ", end="")
        print(f"agentkit {(fast1 - fast0) / (n1 - n0) * 1e6:.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        asyncio.run(measure(f"http://127.0.0.1:{port}/v1", args.repeats))
    finally:
        child.terminate()
        child.wait(timeout=10)


if __name__ == "__main__":
    main()
