"""Fixtures for the approval tests: a scripted local server, real `openai` clients, tools."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import openai
import pytest
from local_clients import local_client

from agentkit import Agent
from agentkit.server import LocalServer

from . import mcp_app
from .approval_tools import deleted
from .mcp_app import MCPHTTPServer

AgentFactory = Callable[..., Agent[Any]]
API_KEY = "sk-approvals-test-key-0123456789"


@pytest.fixture(scope="session")
def scripted_server() -> Iterator[LocalServer]:
    with LocalServer(engine="scripted") as running:
        yield running


@pytest.fixture
def scripted(scripted_server: LocalServer) -> LocalServer:
    """The shared scripted server with an empty queue and request log."""
    scripted_server.scripted.clear()
    scripted_server.state.requests.clear()
    return scripted_server


@pytest.fixture
async def aclient(scripted: LocalServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with local_client(scripted, API_KEY) as opened:
        yield opened


@pytest.fixture
def agent(aclient: openai.AsyncOpenAI) -> AgentFactory:
    """`agent(**options)`: an Agent on the scripted server (model gpt-4o unless given)."""

    def make(**options: Any) -> Agent[Any]:
        return Agent(**{"model": "gpt-4o", "client": aclient, **options})

    return make


@pytest.fixture(autouse=True)
def nothing_deleted() -> None:
    deleted.clear()


@pytest.fixture(scope="session")
def mcp_v1() -> Iterator[MCPHTTPServer]:
    with MCPHTTPServer(1) as running:
        yield running


@pytest.fixture(scope="session")
def mcp_v2() -> Iterator[MCPHTTPServer]:
    with MCPHTTPServer(2) as running:
        yield running


@pytest.fixture(autouse=True)
def no_mcp_calls() -> None:
    mcp_app.calls.clear()
