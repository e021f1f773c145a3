"""Declared Azure deployments (`--deployment NAME=MODEL`, `ServerConfig.deployments`).

Azure routes by deployment name; a name that is not a deployment is its 404
`{"error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource does
not exist. If you created the deployment within the last 5 minutes, please wait a moment and
try again."}}` (its wording as clients report it, e.g. MicrosoftDocs/azure-docs#114013). The
response names the deployment's model, as Azure's responses name models (captures
`azure-text.1`: `"model": "gpt-5.1"`), and the model's rules apply to it.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import uvicorn
from openai import OpenAI
from serve_process import Serve

from agentkit.cli import main
from agentkit.server import LocalServer, ServerConfig
from agentkit.server.protocol.azure import DEPLOYMENT_NOT_FOUND

DEPLOYMENTS = {"chat": "gpt-4.1", "thinker": "o4-mini"}


@pytest.fixture(scope="module")
def azure_client() -> Iterator[OpenAI]:
    with (
        LocalServer(azure=True, deployments=DEPLOYMENTS) as running,
        OpenAI(base_url=running.url + "/openai/v1/", api_key="k", max_retries=0) as client,
    ):
        yield client


def test_a_declared_deployment_answers_with_its_model(azure_client: OpenAI) -> None:
    response = azure_client.responses.create(model="chat", input="hi")
    assert response.model == "gpt-4.1"
    assert response.output_text == 'You said: "hi".'
    thinker = azure_client.responses.create(model="thinker", input="hi")
    assert [item.type for item in thinker.output] == ["reasoning", "message"]


def test_an_undeclared_name_is_deployment_not_found(azure_client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        azure_client.responses.create(model="gpt-4.1", input="hi")
    assert caught.value.body == {
        "message": DEPLOYMENT_NOT_FOUND,
        "type": "invalid_request_error",
        "param": "model",
        "code": "DeploymentNotFound",
    }


def test_the_deployments_model_rules_apply(azure_client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        azure_client.responses.create(model="thinker", input="hi", temperature=0.3)
    assert caught.value.body["param"] == "temperature"  # type: ignore[index]


def test_without_deployments_any_name_is_accepted() -> None:
    with (
        LocalServer(azure=True) as running,
        OpenAI(base_url=running.base_url, api_key="k", max_retries=0) as client,
    ):
        assert client.responses.create(model="my-deployment", input="hi").model == "my-deployment"


def test_deployments_need_azure_mode() -> None:
    with pytest.raises(ValueError, match="Azure OpenAI concept"):
        ServerConfig(deployments={"chat": "gpt-4o"})


def test_the_cli_declares_deployments(tmp_path: Path, serve: Serve) -> None:
    running = serve(
        "--db", str(tmp_path / "d.db"), "--azure", "--deployment", "chat=gpt-4o",
        "--deployment", "think = o3",
    )  # fmt: skip
    with OpenAI(base_url=running.printed_base_url, api_key="k", max_retries=0) as client:
        assert client.responses.create(model="think", input="x").model == "o3"
        with pytest.raises(openai.NotFoundError):
            client.responses.create(model="gpt-4o", input="x")
    code, _, _ = running.stop(signal.SIGINT)
    assert code == 0


def test_the_cli_refuses_a_malformed_deployment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    apps: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: apps.append(app))
    assert main(["serve", "--db", ":memory:", "--azure", "--deployment", "chat"]) == 2
    assert "expected NAME=MODEL" in capsys.readouterr().err
    assert apps == []
