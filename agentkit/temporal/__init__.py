"""Durable agents on Temporal (the optional extra `agentkit-responses[temporal]`).

`TemporalAgent` runs an agent inside workflows with its model and tool calls as activities;
`AgentkitPlugin` sets up clients and workers; `AgentWorkflow` is a ready conversation workflow
(one update per message, approvals as updates) and `ConversationClient` talks to it from any
process. See docs/temporal.md.
"""

from __future__ import annotations

from agentkit.temporal.agent import MODEL_ACTIVITY, TOOL_ACTIVITY, TemporalAgent
from agentkit.temporal.conversations import ConversationClient
from agentkit.temporal.plugin import AgentkitPlugin
from agentkit.temporal.workflow import (
    AgentWorkflow,
    AgentWorkflowInput,
    ApprovalDecision,
    Turn,
    TurnResult,
)

__all__ = [
    "MODEL_ACTIVITY",
    "TOOL_ACTIVITY",
    "AgentWorkflow",
    "AgentWorkflowInput",
    "AgentkitPlugin",
    "ApprovalDecision",
    "ConversationClient",
    "TemporalAgent",
    "Turn",
    "TurnResult",
]
