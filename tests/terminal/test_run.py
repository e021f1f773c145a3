"""`agentkit run`, `agentkit record`, `agentkit --version` and `serve --help`, as subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from agentkit.server import LocalServer
from agentkit.testing import Cassette, ScriptedClient, call, say

HERE = Path(__file__).resolve().parent


def agentkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentkit.cli", *args],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_run_prints_the_answer(shell_env: dict[str, str], script: ScriptedClient) -> None:
    script.queue(call("get_weather", city="Paris"), say("It is 21 C in Paris."))

    done = agentkit("run", "chat_agent:agent", "Weather in Paris?", env=shell_env)

    assert (done.returncode, done.stdout, done.stderr) == (0, "It is 21 C in Paris.\n", "")


def test_run_json_is_the_whole_result(shell_env: dict[str, str], script: ScriptedClient) -> None:
    script.queue(call("get_weather", city="Paris"), say("It is 21 C in Paris."))

    done = agentkit("run", "chat_agent:agent", "Weather in Paris?", "--json", env=shell_env)

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["output"] == result["output_text"] == "It is 21 C in Paris."
    assert result["paused"] is False and result["pending_approvals"] == []
    assert [i["type"] for i in result["new_items"]] == [
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
        "reasoning",
        "message",
    ]
    assert result["usage"]["requests"] == 2 and result["usage"]["input_tokens"] > 0
    assert len(result["response_ids"]) == 2
    assert result["conversation"]["last_response_id"] == result["response_ids"][-1]
    assert result["state"]["status"] == "finished"
    assert result["files"] == []


def test_run_of_a_function_making_the_agent(
    shell_env: dict[str, str], script: ScriptedClient
) -> None:
    script.queue(say("Made."))

    done = agentkit("run", str(HERE / "chat_agent.py") + ":make_agent", "Hi", env=shell_env)

    assert (done.returncode, done.stdout) == (0, "Made.\n")
    assert script.requests()[-1]["model"] == "gpt-4o"


def test_run_that_needs_an_approval_stops_with_status_3(
    shell_env: dict[str, str], script: ScriptedClient
) -> None:
    script.queue(call("delete_file", path="/tmp/x"))

    done = agentkit("run", "chat_agent:agent", "Delete /tmp/x", "--json", env=shell_env)

    assert done.returncode == 3
    assert json.loads(done.stdout)["pending_approvals"][0]["tool"] == "delete_file"
    assert "the run paused for approval of delete_file" in done.stderr


def test_run_reports_a_failed_run_and_a_bad_target(shell_env: dict[str, str]) -> None:
    failed = agentkit("run", "chat_agent:agent", "Hi", env=shell_env)  # nothing queued
    missing = agentkit("run", "no_such_module:agent", "Hi", env=shell_env)

    assert failed.returncode == 1
    assert failed.stderr.startswith("agentkit run: The model call failed:")
    assert "Traceback" not in failed.stderr
    assert missing.returncode == 2
    assert (
        missing.stderr
        == "agentkit run: no module named 'no_such_module' (from the current folder)\n"
    )


def test_version() -> None:
    done = agentkit("--version")

    assert done.stdout == f"agentkit-responses {version('agentkit-responses')}\n"


def test_serve_help_shows_the_defaults() -> None:
    printed = " ".join(agentkit("serve", "--help").stdout.split())

    for default in (
        "(default: 127.0.0.1)",
        "(default: 8000)",
        "(default: auto)",
        "(default: info)",
    ):
        assert default in printed


def test_record_a_command_against_a_real_endpoint(tmp_path: Path) -> None:
    """`agentkit record -- agentkit run ...`: the upstream's key never reaches the cassette."""
    secret = "upstream-secret-key-5e1f"
    with LocalServer(api_key=secret) as upstream:
        env = {
            "PATH": "/usr/bin:/bin",
            "AGENTKIT_BASE_URL": upstream.base_url,
            "AGENTKIT_API_KEY": secret,
        }
        cassette = tmp_path / "weather.json"
        command = [
            sys.executable,
            "-m",
            "agentkit.cli",
            "run",
            "chat_agent:agent",
            "Weather in Paris?",
        ]
        done = agentkit("record", "--cassette", str(cassette), "--", *command, env=env)

    assert done.returncode == 0, done.stderr
    assert "get_weather returned" in done.stdout
    assert f"2 exchanges written to {cassette}" in done.stdout
    recorded = Cassette.load(cassette)
    assert [e.describe() for e in recorded.exchanges] == ["POST /responses"] * 2
    assert recorded.exchanges[0].body["input"][0]["content"][0]["text"] == "Weather in Paris?"
    assert recorded.exchanges[1].answer["status"] == "completed"
    assert secret not in cassette.read_text()
