"""ConversationClient: what a web app's request handlers call to talk to `AgentWorkflow`s.

Each call is one stateless request to Temporal, so any process can make it: a message starts
the conversation's workflow if it is not running (update-with-start) and waits for the answer;
an approval goes to the paused run from wherever the person answered. Ids given for messages
and approvals make retried HTTP requests harmless: Temporal runs an update once per id and
answers every retry with the same result.
"""

from __future__ import annotations

from dataclasses import replace

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from agentkit.run.approvals import ApprovalRequest
from agentkit.run.conversation import Conversation, Item
from agentkit.temporal.workflow import (
    AgentWorkflow,
    AgentWorkflowInput,
    ApprovalDecision,
    Turn,
    TurnResult,
)


class ConversationClient:
    """Conversations with one agent, each an `AgentWorkflow` whose id is the conversation's.

    Args:
        client: A client connected with `AgentkitPlugin()`.
        agent: The `TemporalAgent`'s name, as the workers registered it.
        task_queue: Where the workers poll.
        start: Other options of new conversations' workflows (context, limits).
    """

    def __init__(
        self,
        client: Client,
        *,
        agent: str,
        task_queue: str,
        start: AgentWorkflowInput | None = None,
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.start = replace(start or AgentWorkflowInput(agent), agent=agent)

    async def send(
        self, conversation_id: str, input: str | list[Item], *, message_id: str | None = None
    ) -> TurnResult:
        """Send a user message and wait for its outcome (answer, or approvals to decide)."""
        start = WithStartWorkflowOperation(
            AgentWorkflow.run,
            self.start,
            id=conversation_id,
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        return await self.client.execute_update_with_start_workflow(
            AgentWorkflow.turn, Turn(input), start_workflow_operation=start, id=message_id
        )

    async def decide(
        self, conversation_id: str, approval_id: str, *, approve: bool, reason: str | None = None
    ) -> TurnResult:
        """Approve or reject one request; the last decision waits for the resumed run's outcome."""
        handle = self.client.get_workflow_handle(conversation_id)
        decision = ApprovalDecision(approval_id, approve, reason)
        return await handle.execute_update(
            AgentWorkflow.decide, decision, id=f"decide:{approval_id}"
        )

    async def pending_approvals(self, conversation_id: str) -> list[ApprovalRequest]:
        return await self.client.get_workflow_handle(conversation_id).query(
            AgentWorkflow.pending_approvals
        )

    async def conversation(self, conversation_id: str) -> Conversation:
        return await self.client.get_workflow_handle(conversation_id).query(
            AgentWorkflow.conversation
        )

    async def end(self, conversation_id: str) -> Conversation:
        """End the conversation; its final transcript."""
        handle = self.client.get_workflow_handle_for(AgentWorkflow.run, conversation_id)
        await handle.signal(AgentWorkflow.end)
        return await handle.result()
