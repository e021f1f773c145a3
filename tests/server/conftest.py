"""Fixtures for the server suites: real `agentkit serve` subprocesses, and a clean root logger."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from serve_process import Serve, Serving, server_env


@pytest.fixture
def serve() -> Iterator[Serve]:
    """`serve("--db", path, env=None)`: a running `agentkit serve` (the environment without
    agentkit's server variables unless `env` is given), killed at the end if still running."""
    started: list[Serving] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Serving:
        running = Serving(list(args), server_env() if env is None else env)
        started.append(running)
        return running

    yield start
    for running in started:
        running.kill()


@pytest.fixture(autouse=True)
def kept_logging() -> Iterator[None]:
    """Undo what an in-process `agentkit serve` (`main()`) does to the root logger: its handler
    writes to the test's captured stderr, closed once the test ends."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
