"""A stand-in for a web app's HTTP handler in a process of its own: answers one approval.

    python -m temporal.answer_approval ADDRESS CONVERSATION_ID APPROVAL_ID approve|reject [REASON]

It knows no agent and holds no state: it connects, sends the decision as an update, and prints
the outcome (the resumed run's answer) as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict

from temporalio.client import Client

from agentkit.temporal import AgentkitPlugin, ConversationClient


async def main(address: str, conversation: str, approval: str, verdict: str, *reason: str) -> None:
    client = await Client.connect(address, plugins=[AgentkitPlugin()])
    chats = ConversationClient(client, agent="assistant", task_queue="unused-by-decisions")
    outcome = await chats.decide(
        conversation, approval, approve=verdict == "approve", reason=" ".join(reason) or None
    )
    print(json.dumps(asdict(outcome), default=str))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
