"""`reveal_type(result.output)` for test_reveal.py, which has mypy and pyright compare notes."""

from __future__ import annotations

from typing import reveal_type

from pydantic import BaseModel

from agentkit import Agent


class Reply(BaseModel):
    text: str


def main() -> None:
    agent = Agent(model="gpt-4o", output_type=Reply)
    result = agent.run_sync("hi")
    reveal_type(result.output)
    reveal_type(Agent(model="gpt-4o").run_sync("hi").output)
    reveal_type(Agent(model="gpt-4o", output_type=list[Reply]).run_sync("hi").output)
    reveal_type(Agent[None, int | None](model="m", output_type=int | None).run_sync("x").output)
