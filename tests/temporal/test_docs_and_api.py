"""docs/temporal.md's code compiles, and agentkit.temporal's public names are what it says."""

from __future__ import annotations

import ast
import re
from datetime import timedelta

import pytest
from temporalio.workflow import ActivityConfig
from test_examples import ROOT, python_blocks

import agentkit.temporal
from agentkit import Agent, tool
from agentkit.errors import ConfigurationError
from agentkit.temporal import TemporalAgent


def test_the_page_code_blocks_compile() -> None:
    page = ROOT / "docs" / "temporal.md"
    blocks = python_blocks(page.read_text())
    assert len(blocks) >= 4
    for line, source, *_ in blocks:
        compile(source, f"temporal.md:{line}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_all_names_only_what_exists() -> None:
    assert len(set(agentkit.temporal.__all__)) == len(agentkit.temporal.__all__)
    assert all(hasattr(agentkit.temporal, name) for name in agentkit.temporal.__all__)


@tool(timeout=900)
def audit(year: int) -> str:
    """Audit a year."""
    return "clean"


def test_a_tool_keeps_its_timeout_inside_its_activity() -> None:
    auditor = TemporalAgent(Agent(model="gpt-4o", tools=[audit]), name="auditor")
    options = auditor._tool_options(audit)
    assert options["start_to_close_timeout"] == timedelta(seconds=930)
    assert auditor.tool_activity["start_to_close_timeout"] == timedelta(minutes=10)


def test_bad_names_and_options_are_refused_when_the_agent_is_built() -> None:
    agent = Agent(model="gpt-4o")
    with pytest.raises(ConfigurationError, match="name 'my agent'"):
        TemporalAgent(agent, name="my agent")
    bad = ActivityConfig(start_to_close=timedelta(seconds=1))  # type: ignore[typeddict-unknown-key]
    with pytest.raises(
        ConfigurationError, match=re.escape("unknown activity option 'start_to_close'")
    ):
        TemporalAgent(agent, name="ok", model_activity=bad)
