"""Fixtures for the terminal tests: a scripted server with its control client, and the
environment a user's shell would have, pointed at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.server import LocalServer
from agentkit.testing import ScriptedClient

HERE = Path(__file__).resolve().parent
ENDPOINT_VARIABLES = ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_KEY")


@pytest.fixture
def scripted_server() -> Iterator[LocalServer]:
    with LocalServer(engine="scripted") as server:
        yield server


@pytest.fixture
def script(scripted_server: LocalServer) -> Iterator[ScriptedClient]:
    with ScriptedClient(scripted_server.url) as client:
        yield client


@pytest.fixture
def shell_env(scripted_server: LocalServer) -> dict[str, str]:
    """This process's environment with agents pointed at the scripted server."""
    env = {k: v for k, v in os.environ.items() if k not in ENDPOINT_VARIABLES}
    env.update(AGENTKIT_BASE_URL=scripted_server.base_url, AGENTKIT_API_KEY="k")
    env.pop("NO_COLOR", None)
    return env
