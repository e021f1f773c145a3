"""Local servers and real `openai` clients for the orchestration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
import pytest
from local_clients import local_client

from agentkit.server import LocalServer


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
    scripted_server.scripted.clear()
    scripted_server.state.requests.clear()
    return scripted_server


@pytest.fixture
async def client(server: LocalServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with local_client(server) as opened:
        yield opened


@pytest.fixture
async def scripted_client(scripted: LocalServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with local_client(scripted) as opened:
        yield opened
