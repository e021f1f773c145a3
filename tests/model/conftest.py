"""Fixtures for the model layer: a scripted HTTP server, clients on it, a clean environment."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
import pytest

from ._scripted import ScriptedServer

ENDPOINT_VARIABLES = (
    "AGENTKIT_BASE_URL",
    "AGENTKIT_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "OPENAI_ADMIN_KEY",
    "OPENAI_CUSTOM_HEADERS",
    "OPENAI_API_VERSION",
)


@pytest.fixture(scope="session")
def scripted_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server(scripted_server: ScriptedServer) -> ScriptedServer:
    """The shared server with an empty script and no recorded requests."""
    scripted_server.script()
    return scripted_server


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No endpoint configured in the environment; tests set what they need."""
    for name in ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
async def client(
    server: ScriptedServer, clean_env: pytest.MonkeyPatch
) -> AsyncIterator[openai.AsyncOpenAI]:
    """A client on the scripted server that would retry 3 times itself if asked to."""
    async with openai.AsyncOpenAI(
        base_url=f"{server.url}/v1", api_key="test-key", max_retries=3
    ) as client:
        yield client


@pytest.fixture
async def resolved(clean_env: pytest.MonkeyPatch) -> AsyncIterator[list[openai.AsyncOpenAI]]:
    """Clients a test resolves, closed afterwards."""
    clients: list[openai.AsyncOpenAI] = []
    yield clients
    for client in clients:
        await client.close()
