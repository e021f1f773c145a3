"""Shared fixtures: real local servers on 127.0.0.1 and real `openai` clients pointed at them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import AsyncOpenAI, OpenAI

from agentkit.server import LocalServer

pytest_plugins = ("pytester",)


@pytest.fixture(scope="session")
def server() -> Iterator[LocalServer]:
    """One auto-engine server for the session (in-memory database)."""
    with LocalServer() as running:
        yield running


@pytest.fixture
def scripted() -> Iterator[LocalServer]:
    """A fresh scripted-engine server per test, so queues never leak between tests."""
    with LocalServer(engine="scripted") as running:
        yield running


@pytest.fixture
def client(server: LocalServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as openai_client:
        yield openai_client


@pytest.fixture
def aclient(server: LocalServer) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)


@pytest.fixture
def scripted_client(scripted: LocalServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=scripted.base_url, api_key="test", max_retries=0) as openai_client:
        yield openai_client
