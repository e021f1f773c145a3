"""First runs and endpoint settings: `AGENTKIT_BASE_URL=local`, `local_fallback()`, the INFO
line naming the endpoint, Azure's `api-version`, and a failed Entra ID sign-in."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from agentkit import Agent, ConfigurationError, local_fallback
from agentkit.model import create_response, resolve_client
from agentkit.model.client import ENTRA_FAILED

from ._scripted import Reply, ScriptedServer, response_json

BODY = {"model": "gpt-test", "input": "Hi"}


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter whose environment has no endpoint but `env`."""
    names = ("AGENTKIT_", "AZURE_", "OPENAI_")
    base = {k: v for k, v in os.environ.items() if not k.startswith(names)}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **env},
    )


def test_local_runs_an_agent_on_an_embedded_server_and_logs_where() -> None:
    code = (
        "import logging\n"
        "logging.basicConfig(level='INFO', format='%(name)s %(levelname)s %(message)s')\n"
        "from agentkit import Agent\n"
        "agent = Agent(model='gpt-4o')\n"
        "print(agent.run_sync('Hello').output)\n"
        "print(agent.run_sync('Again').output)\n"
    )

    done = run_python(code, AGENTKIT_BASE_URL="local")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == 'You said: "Hello".'
    endpoint_lines = [line for line in done.stderr.splitlines() if "model endpoint" in line]
    assert len(endpoint_lines) == 1  # once, however many runs
    assert endpoint_lines[0].startswith("agentkit.model INFO model endpoint: http://127.0.0.1:")
    assert endpoint_lines[0].endswith(
        "/v1 (from AGENTKIT_BASE_URL=local: agentkit's embedded local server)"
    )


def test_local_fallback_only_when_nothing_is_configured(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AGENTKIT_BASE_URL", "")  # empty counts as unset; restored after the test
    assert local_fallback() is True
    assert os.environ["AGENTKIT_BASE_URL"] == "local"
    clean_env.setenv("AGENTKIT_BASE_URL", "http://127.0.0.1:9/v1")
    clean_env.setenv("AZURE_OPENAI_ENDPOINT", "https://x.openai.azure.com")

    assert local_fallback() is False
    assert os.environ["AGENTKIT_BASE_URL"] == "http://127.0.0.1:9/v1"
    clean_env.setenv("AGENTKIT_BASE_URL", "")
    assert local_fallback() is False  # Azure is configured
    assert os.environ["AGENTKIT_BASE_URL"] == ""


async def test_the_endpoint_is_logged_once_at_info(
    server: ScriptedServer,
    clean_env: pytest.MonkeyPatch,
    resolved: list[openai.AsyncOpenAI],
    caplog: pytest.LogCaptureFixture,
) -> None:
    clean_env.setenv("OPENAI_API_KEY", "sk-log-test")
    clean_env.setenv("OPENAI_BASE_URL", f"{server.url}/log-test/v1")
    caplog.set_level(logging.INFO, logger="agentkit.model")

    resolved += [resolve_client(), resolve_client()]

    lines = [r.getMessage() for r in caplog.records if r.name == "agentkit.model"]
    assert lines == [f"model endpoint: {server.url}/log-test/v1 (from OPENAI_API_KEY)"]
    assert "sk-log-test" not in caplog.text


async def test_azure_api_version_is_sent_as_a_query_parameter(
    server: ScriptedServer, clean_env: pytest.MonkeyPatch, resolved: list[openai.AsyncOpenAI]
) -> None:
    clean_env.setenv("AZURE_OPENAI_ENDPOINT", server.url)
    clean_env.setenv("AZURE_OPENAI_API_KEY", "azure-key-1")
    clean_env.setenv("AZURE_OPENAI_API_VERSION", "preview")
    server.script(Reply(json=response_json()))

    client = resolve_client()
    resolved.append(client)
    await create_response(client, BODY)

    [request] = server.received
    assert (request.path, request.query) == ("/openai/v1/responses", "api-version=preview")
    assert request.headers["api-key"] == "azure-key-1"


def failing_entra_env(clean_env: pytest.MonkeyPatch, tmp_path: Path, endpoint: str) -> None:
    """Azure without a key, where Entra ID can only try the Azure CLI, which is not installed:
    a real sign-in failure, offline (no managed identity endpoint is asked)."""
    clean_env.setenv("AZURE_OPENAI_ENDPOINT", endpoint)
    clean_env.setenv("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")
    clean_env.setenv("PATH", str(tmp_path))  # no `az` here


def test_a_failed_entra_id_sign_in_is_one_configuration_error(
    server: ScriptedServer,
    clean_env: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    failing_entra_env(clean_env, tmp_path, server.url)

    with pytest.raises(ConfigurationError) as caught:
        Agent(model="gpt-4o").run_sync("Hi")

    message = str(caught.value)
    assert message.startswith(ENTRA_FAILED.split("{reason}")[0])
    assert "AzureCliCredential" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert server.received == []  # nothing was sent without a token
    assert capsys.readouterr().err == ""  # azure-identity's own log of it is not printed too


def test_a_failed_entra_id_sign_in_prints_once_in_a_script(
    server: ScriptedServer, tmp_path: Path
) -> None:
    code = "from agentkit import Agent\nAgent(model='gpt-4o').run_sync('Hi')\n"

    done = run_python(
        code,
        AZURE_OPENAI_ENDPOINT=server.url,
        AZURE_TOKEN_CREDENTIALS="AzureCliCredential",
        PATH=str(tmp_path),
    )

    assert done.returncode == 1
    assert done.stderr.count("AzureCliCredential") == 1
    assert "agentkit.errors.ConfigurationError: AZURE_OPENAI_API_KEY is not set" in done.stderr
    assert "During handling of the above exception" not in done.stderr
