"""A user's own project tested with nothing but agentkit's pytest plugin (run by `pytester` in a
subprocess, as `pytest` would run in that project): local servers, scripted answers, the
requests sent and the tool outputs seen; cassettes recorded once, replayed offline, and a
failure with a readable diff once the agent's request changes."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.server import LocalServer

DOCS = Path(__file__).resolve().parents[2] / "docs/testing.md"

PYPROJECT = """
[project]
name = "weather-app"
version = "0.0.1"
requires-python = ">=3.11"
dependencies = ["agentkit-responses[server]"]

[tool.pytest.ini_options]
asyncio_default_fixture_loop_scope = "function"
"""

APP = '''
"""The user's agent: one tool, instructions from the environment (so a test can change them)."""

import os

from agentkit import Agent, tool


@tool
def get_weather(city: str) -> dict:
    """Current weather for a city.

    Args:
        city: The city's name.
    """
    return {"city": city, "temperature_c": 21}


agent = Agent(
    model="gpt-4o",
    instructions=os.environ.get("WEATHER_INSTRUCTIONS", "Be brief."),
    tools=[get_weather],
)
'''

TESTS = """
from agentkit.testing import call, say

from weather_app import agent


def test_auto_engine_calls_the_tool(agentkit_agent, agentkit_requests, agentkit_tool_outputs):
    result = agentkit_agent(agent).run_sync("What's the weather in Paris?")

    assert "Paris" in result.output
    assert [r["model"] for r in agentkit_requests] == ["gpt-4o", "gpt-4o"]
    assert agentkit_requests[0]["instructions"] == "Be brief."
    [seen] = agentkit_tool_outputs
    assert (seen.name, seen.output) == ("get_weather", '{"city":"Paris","temperature_c":21}')


def test_scripted_answers(agentkit_script, agentkit_agent, agentkit_tool_outputs):
    agentkit_script.queue(call("get_weather", city="Oslo"), say("Cold in Oslo."))

    result = agentkit_agent(agent).run_sync("Oslo?")

    assert result.output == "Cold in Oslo."
    assert [o.output for o in agentkit_tool_outputs] == ['{"city":"Oslo","temperature_c":21}']
    assert agentkit_script.pending() == {}


def test_agents_configured_from_the_environment_use_the_server(agentkit_server):
    result = agent.run_sync("What's the weather in Rome?")

    assert "Rome" in result.output
    assert len(agentkit_server.requests) == 2


def test_each_test_has_its_own_server(agentkit_server):
    assert len(agentkit_server.requests) == 0
"""

REPLAYED = """
from weather_app import agent


def test_weather_replayed(agentkit_cassette, agentkit_tool_outputs):
    result = agent.run_sync("What's the weather in Paris?")

    assert "Paris" in result.output
    assert [o.name for o in agentkit_tool_outputs] == ["get_weather"]
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project folder of its own: pyproject.toml, the app module and its tests."""
    for name in (
        "AGENTKIT_BASE_URL",
        "AGENTKIT_API_KEY",
        "AZURE_OPENAI_ENDPOINT",
        "OPENAI_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("WEATHER_INSTRUCTIONS", raising=False)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makepyfile(weather_app=APP)
    pytester.syspathinsert()
    return pytester


@pytest.fixture
def upstream() -> Iterator[LocalServer]:
    """The "real" endpoint cassettes are recorded against: `agentkit serve` with a key."""
    with LocalServer(api_key="upstream-key-7c2d9") as server:
        yield server


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest_subprocess(
        "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning", *args
    )


def record(
    project: pytest.Pytester, upstream: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Record the replayed test's cassette against `upstream`, then forget the endpoint."""
    project.makepyfile(test_replayed=REPLAYED)
    with monkeypatch.context() as env:
        env.setenv("AGENTKIT_BASE_URL", upstream.base_url)
        env.setenv("AGENTKIT_API_KEY", "upstream-key-7c2d9")
        run(project, "--agentkit-record").assert_outcomes(passed=1)


def test_a_project_tested_with_only_the_plugins_fixtures(project: pytest.Pytester) -> None:
    project.makepyfile(test_weather=TESTS)

    result = run(project)

    result.assert_outcomes(passed=4)


def test_a_cassette_is_recorded_then_replayed_offline(
    project: pytest.Pytester, upstream: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    record(project, upstream, monkeypatch)
    recorded = len(upstream.requests)
    cassette = Path(project.path, "cassettes", "test_replayed", "test_weather_replayed.json")
    text = cassette.read_text()
    replayed = run(project)

    replayed.assert_outcomes(passed=1)
    assert recorded == 2 and len(upstream.requests) == 2  # the replay never reached it
    assert "upstream-key-7c2d9" not in text
    assert [e["request"]["path"] for e in json.loads(text)["exchanges"]] == ["/responses"] * 2


def test_a_replay_fails_with_a_diff_when_the_request_changes(
    project: pytest.Pytester, upstream: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    record(project, upstream, monkeypatch)
    monkeypatch.setenv("WEATHER_INSTRUCTIONS", "Answer in French.")

    result = run(project)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*agentkit replay: request 1 (POST /responses) differs from *test_weather_replayed.json",
            "*--- recorded",
            "*+++ sent",
            '*-  "instructions": "Be brief.",',
            '*+  "instructions": "Answer in French.",',
        ]
    )


def test_a_missing_cassette_says_how_to_record_it(project: pytest.Pytester) -> None:
    project.makepyfile(test_replayed=REPLAYED)

    result = run(project)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*no cassette at *test_weather_replayed.json: record it once with `pytest --agentkit-record`*"
        ]
    )


def test_recorded_requests_never_sent_fail_the_test(
    project: pytest.Pytester, upstream: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    record(project, upstream, monkeypatch)
    project.makepyfile(
        test_replayed=textwrap.dedent(
            """
            def test_weather_replayed(agentkit_cassette):
                pass  # the agent is never run
            """
        )
    )

    result = run(project)

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*2 recorded request(s) were never sent: POST /responses, POST /responses*"]
    )


def test_the_blocks_of_docs_testing_md_pass_in_a_project(
    project: pytest.Pytester, upstream: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The page's two test files as a user pastes them: the fixtures, then a recorded cassette.
    fixtures, replayed = re.findall(r"^```python\n(.*?)^```", DOCS.read_text(), re.M | re.S)
    project.makepyfile(test_weather_replayed=replayed)
    with monkeypatch.context() as env:
        env.setenv("AGENTKIT_BASE_URL", upstream.base_url)
        env.setenv("AGENTKIT_API_KEY", "upstream-key-7c2d9")
        run(project, "--agentkit-record").assert_outcomes(passed=1)
    project.makepyfile(test_weather=fixtures)

    run(project).assert_outcomes(passed=3)
