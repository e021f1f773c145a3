"""resolve_client: every environment branch, user clients, Entra ID tokens, no leaked keys."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from agentkit.errors import ConfigurationError, ConfigurationWarning
from agentkit.model import azure_v1_base_url, create_response, entra_token_provider, resolve_client
from agentkit.model.client import LOCAL_API_KEY, NOT_CONFIGURED

from ._scripted import Reply, ScriptedServer, response_json

BODY: dict[str, Any] = {"model": "gpt-test", "input": "Hi"}
SECRET = "secret-key-9f8e7d"


@dataclass(frozen=True)
class Token:
    token: str
    expires_on: int


class FakeCredential:
    """A sync Entra ID credential: counts calls and the threads they ran on."""

    def __init__(self, token: str = "entra-token-1", lifetime: int = 3600) -> None:
        self.token = token
        self.lifetime = lifetime
        self.scopes: list[tuple[str, ...]] = []
        self.threads: list[int] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Token:
        self.scopes.append(scopes)
        self.threads.append(threading.get_ident())
        return Token(f"{self.token}-{len(self.scopes)}", int(time.time()) + self.lifetime)


class FakeAsyncCredential:
    def __init__(self) -> None:
        self.calls = 0

    async def get_token(self, *scopes: str) -> Token:
        self.calls += 1
        await asyncio.sleep(0.01)
        return Token(f"async-token-{self.calls}", int(time.time()) + 3600)


async def send(client: openai.AsyncOpenAI, resolved: list[openai.AsyncOpenAI]) -> None:
    resolved.append(client)
    await create_response(client, BODY)


# --- environment precedence -------------------------------------------------------------


async def test_agentkit_base_url_with_placeholder_key(
    server: ScriptedServer, clean_env: pytest.MonkeyPatch, resolved: list[openai.AsyncOpenAI]
) -> None:
    clean_env.setenv("AGENTKIT_BASE_URL", f"{server.url}/v1")
    server.script(Reply(json=response_json()))

    client = resolve_client()
    await send(client, resolved)

    assert str(client.base_url) == f"{server.url}/v1/"
    assert client.max_retries == 0
    [request] = server.received
    assert request.path == "/v1/responses"
    assert request.headers["authorization"] == f"Bearer {LOCAL_API_KEY}"


async def test_agentkit_base_url_wins_over_everything(
    server: ScriptedServer, clean_env: pytest.MonkeyPatch, resolved: list[openai.AsyncOpenAI]
) -> None:
    clean_env.setenv("AGENTKIT_BASE_URL", f"{server.url}/v1")
    clean_env.setenv("AGENTKIT_API_KEY", "local-key")
    clean_env.setenv("AZURE_OPENAI_ENDPOINT", "https://example.openai.azure.com")
    clean_env.setenv("AZURE_OPENAI_API_KEY", SECRET)
    clean_env.setenv("OPENAI_API_KEY", "sk-openai")
    server.script(Reply(json=response_json()))

    with pytest.warns(
        ConfigurationWarning, match="ignore AZURE_OPENAI_ENDPOINT and OPENAI_API_KEY"
    ):
        client = resolve_client()
    await send(client, resolved)

    [request] = server.received
    assert request.headers["authorization"] == "Bearer local-key"
    assert "api-key" not in request.headers


async def test_azure_key_is_sent_as_api_key_header(
    server: ScriptedServer, clean_env: pytest.MonkeyPatch, resolved: list[openai.AsyncOpenAI]
) -> None:
    clean_env.setenv("AZURE_OPENAI_ENDPOINT", f"{server.url}/")
    clean_env.setenv("AZURE_OPENAI_API_KEY", SECRET)
    clean_env.setenv("OPENAI_API_KEY", "sk-openai")
    server.script(Reply(json=response_json()))

    client = resolve_client()
    await send(client, resolved)

    assert str(client.base_url) == f"{server.url}/openai/v1/"
    assert client.max_retries == 0
    [request] = server.received
    assert request.path == "/openai/v1/responses"
    assert request.query == ""
    assert request.headers["api-key"] == SECRET
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert SECRET not in repr(client)


async def test_azure_without_key_uses_entra_id(
    server: ScriptedServer, clean_env: pytest.MonkeyPatch, resolved: list[openai.AsyncOpenAI]
) -> None:
    import azure.identity

    credential = FakeCredential()
    clean_env.setattr(azure.identity, "DefaultAzureCredential", lambda: credential)
    clean_env.setenv("AZURE_OPENAI_ENDPOINT", server.url)
    clean_env.setenv("OPENAI_API_KEY", "sk-openai")
    server.script(Reply(json=response_json()), Reply(json=response_json()))

    client = resolve_client()
    await send(client, resolved)
    await send(client, resolved)

    assert [r.path for r in server.received] == ["/openai/v1/responses"] * 2
    assert [r.headers["authorization"] for r in server.received] == ["Bearer entra-token-1-1"] * 2
    assert all("api-key" not in r.headers for r in server.received)
    assert credential.scopes == [("https://cognitiveservices.azure.com/.default",)]
    assert threading.get_ident() not in credential.threads


async def test_openai_key_with_base_url(
    server: ScriptedServer, clean_env: pytest.MonkeyPatch, resolved: list[openai.AsyncOpenAI]
) -> None:
    clean_env.setenv("OPENAI_API_KEY", SECRET)
    clean_env.setenv("OPENAI_BASE_URL", f"{server.url}/v1")
    server.script(Reply(json=response_json()))

    client = resolve_client()
    await send(client, resolved)

    assert client.max_retries == 0
    [request] = server.received
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert "api-key" not in request.headers


async def test_openai_key_defaults_to_openai(
    clean_env: pytest.MonkeyPatch, resolved: list[openai.AsyncOpenAI]
) -> None:
    clean_env.setenv("OPENAI_API_KEY", SECRET)

    client = resolve_client()
    resolved.append(client)

    assert str(client.base_url) == "https://api.openai.com/v1/"
    assert client.api_key == SECRET
    assert SECRET not in repr(client)


def test_nothing_configured_lists_the_options(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_client()

    message = str(caught.value)
    assert message == NOT_CONFIGURED
    assert message.endswith("or pass a client: Agent(..., client=openai.AsyncOpenAI(...)).")
    for name in (
        "AGENTKIT_BASE_URL",
        "AGENTKIT_API_KEY",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY",
        "Entra ID",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
    ):
        assert name in message


def test_empty_variables_count_as_unset(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AGENTKIT_BASE_URL", "")
    clean_env.setenv("AZURE_OPENAI_ENDPOINT", "")
    clean_env.setenv("OPENAI_API_KEY", "")

    with pytest.raises(ConfigurationError):
        resolve_client()


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("https://res.openai.azure.com", "https://res.openai.azure.com/openai/v1/"),
        ("https://res.openai.azure.com/", "https://res.openai.azure.com/openai/v1/"),
        ("https://res.openai.azure.com/openai", "https://res.openai.azure.com/openai/v1/"),
        ("https://res.openai.azure.com/openai/v1/", "https://res.openai.azure.com/openai/v1/"),
        ("https://res.services.ai.azure.com//", "https://res.services.ai.azure.com/openai/v1/"),
    ],
)
def test_azure_v1_base_url(endpoint: str, expected: str) -> None:
    assert azure_v1_base_url(endpoint) == expected


# --- user-built clients -----------------------------------------------------------------


async def test_async_client_is_reused_with_sdk_retries_off(
    server: ScriptedServer, resolved: list[openai.AsyncOpenAI]
) -> None:
    user = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key=SECRET, max_retries=5)
    server.script(*[Reply(status=503, json={"error": {"message": "down"}})] * 6)

    client = resolve_client(user)
    resolved.append(client)
    with pytest.raises(openai.InternalServerError):
        await client.responses.create(model="gpt-test", input="Hi")

    assert client.max_retries == 0
    assert user.max_retries == 5
    assert client.base_url == user.base_url
    assert len(server.received) == 1


async def test_async_azure_client_is_kept(resolved: list[openai.AsyncOpenAI]) -> None:
    user = openai.AsyncAzureOpenAI(
        base_url="https://res.openai.azure.com/openai/v1/", api_key=SECRET, api_version="preview"
    )

    client = resolve_client(user)
    resolved.append(client)

    assert isinstance(client, openai.AsyncAzureOpenAI)
    assert client.max_retries == 0


async def test_sync_client_becomes_an_equivalent_async_client(
    server: ScriptedServer, resolved: list[openai.AsyncOpenAI]
) -> None:
    with openai.OpenAI(
        base_url=f"{server.url}/v1",
        api_key=SECRET,
        organization="org-1",
        project="proj-1",
        default_headers={"x-team": "blue"},
        default_query={"tenant": "t1"},
        timeout=12.5,
    ) as user:
        client = resolve_client(user)
    server.script(Reply(json=response_json()))

    await send(client, resolved)

    assert isinstance(client, openai.AsyncOpenAI)
    assert (client.max_retries, client.timeout) == (0, 12.5)
    [request] = server.received
    assert request.query == "tenant=t1"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert request.headers["openai-organization"] == "org-1"
    assert request.headers["openai-project"] == "proj-1"
    assert request.headers["x-team"] == "blue"


async def test_sync_callable_key_runs_in_a_worker_thread(
    server: ScriptedServer, resolved: list[openai.AsyncOpenAI]
) -> None:
    threads: list[int] = []

    def key() -> str:
        threads.append(threading.get_ident())
        return f"rotating-{len(threads)}"

    with openai.OpenAI(base_url=f"{server.url}/v1", api_key=key) as user:
        client = resolve_client(user)
    server.script(Reply(json=response_json()), Reply(json=response_json()))

    await send(client, resolved)
    await send(client, resolved)

    auth = [r.headers["authorization"] for r in server.received]
    assert auth == ["Bearer rotating-1", "Bearer rotating-2"]
    assert threading.get_ident() not in threads


async def test_sync_azure_client_with_key(
    server: ScriptedServer, resolved: list[openai.AsyncOpenAI]
) -> None:
    with openai.AzureOpenAI(
        base_url=f"{server.url}/openai/v1/", api_key=SECRET, api_version="preview"
    ) as user:
        client = resolve_client(user)
    server.script(Reply(json=response_json()))

    await send(client, resolved)

    assert isinstance(client, openai.AsyncAzureOpenAI)
    [request] = server.received
    assert (request.path, request.query) == ("/openai/v1/responses", "api-version=preview")
    assert request.headers["api-key"] == SECRET
    assert "authorization" not in request.headers


async def test_sync_azure_client_with_token_provider(
    server: ScriptedServer, resolved: list[openai.AsyncOpenAI]
) -> None:
    with openai.AzureOpenAI(
        base_url=f"{server.url}/openai/v1/",
        azure_ad_token_provider=lambda: "ad-token",
        api_version="preview",
    ) as user:
        client = resolve_client(user)
    server.script(Reply(json=response_json()))

    await send(client, resolved)

    [request] = server.received
    assert request.headers["authorization"] == "Bearer ad-token"
    assert "api-key" not in request.headers


async def test_sync_azure_client_with_deployment_keeps_its_routing(
    server: ScriptedServer, resolved: list[openai.AsyncOpenAI]
) -> None:
    with openai.AzureOpenAI(
        azure_endpoint=server.url,
        azure_deployment="gpt-4o",
        api_key=SECRET,
        api_version="2025-04-01-preview",
    ) as user:
        client = resolve_client(user)
    server.script(Reply(json=response_json()))

    await send(client, resolved)

    [request] = server.received
    assert (request.path, request.query) == ("/openai/responses", "api-version=2025-04-01-preview")


def test_other_objects_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="got str") as caught:
        resolve_client("sk-not-a-client")  # type: ignore[arg-type]

    assert "sk-not-a-client" not in str(caught.value)


# --- Entra ID token provider ------------------------------------------------------------


async def test_entra_token_reaches_the_server_as_bearer(
    server: ScriptedServer, resolved: list[openai.AsyncOpenAI]
) -> None:
    credential = FakeCredential(token="fake-entra")
    client = openai.AsyncOpenAI(
        base_url=f"{server.url}/openai/v1/", api_key=entra_token_provider(credential)
    )
    server.script(Reply(json=response_json()), Reply(json=response_json()))

    await send(client, resolved)
    await send(client, resolved)

    auth = [r.headers["authorization"] for r in server.received]
    assert auth == ["Bearer fake-entra-1", "Bearer fake-entra-1"]
    assert len(credential.scopes) == 1


async def test_entra_token_is_refreshed_near_expiry() -> None:
    credential = FakeCredential(token="short", lifetime=60)
    provider = entra_token_provider(credential, "api://custom/.default")

    assert [await provider(), await provider()] == ["short-1", "short-2"]
    assert credential.scopes == [("api://custom/.default",)] * 2


async def test_async_credential_is_awaited_once_for_concurrent_callers() -> None:
    credential = FakeAsyncCredential()
    provider = entra_token_provider(credential)

    tokens = await asyncio.gather(*(provider() for _ in range(5)))

    assert tokens == ["async-token-1"] * 5
    assert credential.calls == 1
    assert "async-token" not in repr(provider)


# --- import cost -----------------------------------------------------------------------


def test_importing_agentkit_model_skips_azure_identity_and_mcp() -> None:
    script = (
        "import os, sys\n"
        "os.environ.clear(); os.environ['OPENAI_API_KEY'] = 'k'\n"
        "import agentkit.model\n"
        "agentkit.model.resolve_client()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('azure', 'mcp')))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "[]"
