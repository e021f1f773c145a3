"""AgentkitPlugin: what a Temporal client and worker need to run agentkit agents.

Give it to `Client.connect(plugins=[...])` in every process that talks to these workflows
(workers take the plugins of their client): it converts payloads with pydantic, so that a
`Conversation` or `RunState` travels as its versioned JSON; registers each `TemporalAgent`'s
activities and the ready `AgentWorkflow` on workers; passes agentkit and the libraries it
imports through the workflow sandbox; makes agentkit's deterministic errors fail a workflow
instead of retrying its task forever; and closes the agents' clients and MCP sessions when a
worker stops.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any

from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import DataConverter, DefaultPayloadConverter
from temporalio.plugin import SimplePlugin
from temporalio.worker import WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from agentkit.errors import AgentkitError, ConfigurationError
from agentkit.temporal.agent import TemporalAgent
from agentkit.temporal.workflow import AgentWorkflow, register

PASSTHROUGH = (
    "agentkit",
    "openai",
    "httpx2",
    "httpcore2",
    "pydantic",
    "pydantic_core",
    "anyio",
    "sniffio",
    "certifi",
    "truststore",
    "jiter",
    "distro",
    "jsonschema",
    "referencing",
    "rpds",
    "mcp",
    "docstring_parser",
    "tenacity",
    "azure",
)
"""Imported once, outside the sandbox: agentkit is deterministic where a workflow runs it (its
ids and clocks come from the workflow), and these libraries touch restricted modules at import
(httpx2 subclasses `urllib.request.Request`)."""


class AgentkitPlugin(SimplePlugin):
    """Runs agentkit agents on Temporal; one for the client of every worker and starter.

    Args:
        agents: The `TemporalAgent`s whose activities the workers run (and that
            `AgentWorkflow` knows by name); processes that only start workflows need none.
        workflow: Register `AgentWorkflow` on workers.
    """

    def __init__(self, agents: Sequence[TemporalAgent[Any]] = (), *, workflow: bool = True) -> None:
        names = [agent.name for agent in agents]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"two TemporalAgents share a name: {sorted(names)}")
        register(agents)
        self.agents = tuple(agents)

        @contextlib.asynccontextmanager
        async def closing() -> AsyncIterator[None]:
            try:
                yield
            finally:
                for agent in self.agents:
                    await agent.close()

        super().__init__(
            "agentkit.AgentkitPlugin",
            data_converter=_pydantic_payloads,
            activities=[a for agent in self.agents for a in agent.activities()],
            workflows=[AgentWorkflow] if workflow else None,
            workflow_runner=_passing_through,
            workflow_failure_exception_types=[AgentkitError],
            run_context=closing,
        )


def _pydantic_payloads(existing: DataConverter | None) -> DataConverter:
    """The client's converter with pydantic payloads (its codec and failures kept)."""
    converter = existing or DataConverter.default
    kind = converter.payload_converter_class
    if issubclass(kind, PydanticPayloadConverter):
        return converter
    if kind is not DefaultPayloadConverter:
        raise ConfigurationError(
            f"AgentkitPlugin converts payloads with pydantic; the client's payload converter "
            f"{kind.__name__} would have to be a PydanticPayloadConverter subclass."
        )
    return dataclasses.replace(converter, payload_converter_class=PydanticPayloadConverter)


def _passing_through(existing: WorkflowRunner | None) -> WorkflowRunner:
    if existing is None:
        existing = SandboxedWorkflowRunner()
    if not isinstance(existing, SandboxedWorkflowRunner):
        return existing  # an unsandboxed runner needs nothing
    restrictions = existing.restrictions.with_passthrough_modules(*PASSTHROUGH)
    return dataclasses.replace(existing, restrictions=restrictions)
