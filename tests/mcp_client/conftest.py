"""Fixtures for the MCP tests: a real HTTP MCP server; the stdio server is started per test."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import openai
import pytest
from mcp_servers import HTTPServer

from agentkit.server import LocalServer


@pytest.fixture(scope="session")
def http_server() -> Iterator[HTTPServer]:
    with HTTPServer() as running:
        yield running


@pytest.fixture
def mcp_http(http_server: HTTPServer) -> HTTPServer:
    """The HTTP MCP server, with an empty record of the headers it received."""
    http_server.seen.clear()
    return http_server


@pytest.fixture(autouse=True)
def no_task_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail on what asyncio logs for tasks left broken (e.g. a cancel scope exited elsewhere)."""
    caplog.set_level(logging.WARNING, "asyncio")
    yield
    broken = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert broken == []


@pytest.fixture
def server(server: LocalServer) -> LocalServer:
    """The session's auto-engine server, with an empty request log for this test."""
    server.state.requests.clear()
    return server


@pytest.fixture
async def auto_client(server: LocalServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k") as opened:
        yield opened


@pytest.fixture
async def scripted_client(scripted: LocalServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=scripted.base_url, api_key="k") as opened:
        yield opened
