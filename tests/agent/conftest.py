"""Fixtures for the Agent's end-to-end tests: local servers, real `openai` clients, tools."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import openai
import pytest
from local_clients import local_client

from agentkit import Agent
from agentkit.server import LocalServer

ENDPOINT_VARIABLES = (
    "AGENTKIT_BASE_URL",
    "AGENTKIT_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
)

AgentFactory = Callable[..., Agent[Any]]


@pytest.fixture
def server(server: LocalServer) -> LocalServer:
    """The session's auto-engine server, with an empty request log for this test."""
    server.state.requests.clear()
    return server


@pytest.fixture(scope="session")
def scripted_server() -> Iterator[LocalServer]:
    with LocalServer(engine="scripted") as running:
        yield running


@pytest.fixture
def scripted(scripted_server: LocalServer) -> LocalServer:
    """A scripted-engine server with an empty queue and request log (shared: starting one per
    test costs more than these tests do)."""
    scripted_server.scripted.clear()
    scripted_server.state.requests.clear()
    return scripted_server


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No model endpoint configured in the environment; tests set what they need."""
    for name in ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
async def client(server: LocalServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with local_client(server) as opened:
        yield opened


@pytest.fixture
async def scripted_aclient(scripted: LocalServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with local_client(scripted) as opened:
        yield opened


@pytest.fixture
def agent(client: openai.AsyncOpenAI) -> AgentFactory:
    """`agent(**options)`: an Agent on the auto-engine server (model gpt-4o unless given)."""

    def make(**options: Any) -> Agent[Any]:
        return Agent(**{"model": "gpt-4o", "client": client, **options})

    return make


@pytest.fixture
def scripted_agent(scripted_aclient: openai.AsyncOpenAI) -> AgentFactory:
    """`scripted_agent(**options)`: an Agent on the scripted server."""

    def make(**options: Any) -> Agent[Any]:
        return Agent(**{"model": "gpt-4o", "client": scripted_aclient, **options})

    return make
