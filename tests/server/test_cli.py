"""`agentkit serve` as a real subprocess: it prints its URL, serves, checks keys, stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
import uvicorn
from openai import OpenAI

from agentkit.cli import main

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30
KEY_VARIABLES = ("AGENTKIT_SERVER_API_KEY", "AGENTKIT_DB")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Serving:
    """A running `agentkit serve` process and what it printed on start."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agentkit.cli", "serve", "--port", str(self.port), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        # Two lines, flushed together: read both here (communicate() bypasses this buffer).
        self.banner = self.process.stdout.readline() + self.process.stdout.readline()
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                _, err = self.process.communicate()
                pytest.fail(f"agentkit serve exited with {self.process.returncode}: {err}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.process.kill()
        pytest.fail(f"agentkit serve did not listen on {self.port} within {STARTUP_SECONDS} s")

    @property
    def printed_base_url(self) -> str:
        found = re.search(r"Responses API at (\S+)", self.banner)
        assert found is not None, self.banner
        return found.group(1)

    def stop(self, sig: int) -> tuple[int, str, str]:
        """Send `sig`, wait for the exit; return (exit code, rest of stdout, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            out, err = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return self.process.returncode, out, err


@pytest.fixture
def env() -> dict[str, str]:
    """The environment without agentkit's server variables."""
    return {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}


@pytest.fixture
def serving(env: dict[str, str]) -> Iterator[list[Serving]]:
    """Started processes; any still running at the end are killed."""
    started: list[Serving] = []
    yield started
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.communicate()


def test_serve_prints_its_url_serves_and_stops_on_ctrl_c(
    tmp_path: Path, env: dict[str, str], serving: list[Serving]
) -> None:
    db = tmp_path / "cli.db"
    running = Serving(["--db", str(db), "--reasoning-models", "my-*, think*"], env)
    serving.append(running)
    assert running.printed_base_url == f"http://127.0.0.1:{running.port}/v1"
    assert running.banner == (
        f"agentkit serve: Responses API at http://127.0.0.1:{running.port}/v1 "
        f"(engine auto, db {db})\n"
        f'  client = OpenAI(base_url="http://127.0.0.1:{running.port}/v1", api_key="...")\n'
    )

    with OpenAI(base_url=running.printed_base_url, api_key="anything", max_retries=0) as client:
        response = client.responses.create(model="gpt-4o", input="Hello from the CLI test")
        thinker = client.responses.create(model="my-thinker", input="x")
        o3 = client.responses.create(model="o3", input="x")
    assert response.output_text == 'You said: "Hello from the CLI test".'
    assert [item.type for item in thinker.output] == ["reasoning", "message"]
    assert [item.type for item in o3.output] == ["message"]

    code, out, err = running.stop(signal.SIGINT)
    assert (code, out, err) == (0, "", "")
    with sqlite3.connect(db) as reopened:
        stored = {row[0] for row in reopened.execute("SELECT id FROM responses")}
    assert stored == {response.id, thinker.id, o3.id}


def test_serve_enforces_the_api_key_and_stops_on_sigterm(
    tmp_path: Path, env: dict[str, str], serving: list[Serving]
) -> None:
    env = {**env, "AGENTKIT_SERVER_API_KEY": "s3cret"}
    running = Serving(["--db", str(tmp_path / "k.db"), "--engine", "scripted"], env)
    serving.append(running)
    base_url = running.printed_base_url

    with (
        OpenAI(base_url=base_url, api_key="wrong", max_retries=0) as client,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        client.responses.create(model="gpt-4o", input="x")
    assert caught.value.body == {
        "message": "Incorrect API key provided.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }

    with httpx2.Client(base_url=f"http://127.0.0.1:{running.port}") as http:
        step = {"output": [{"type": "message", "text": "keyed"}]}
        missing = http.post("/_agentkit/scripted/queue", json=step)
        assert missing.status_code == 401
        assert missing.json()["error"]["code"] == "missing_api_key"
        queued = http.post("/_agentkit/scripted/queue", json=step, headers={"api-key": "s3cret"})
        assert queued.json() == {"queued": 1, "pending": {"*": 1}}
        azure_style = http.get("/openai/v1/responses/resp_x", headers={"api-key": "s3cret"})
        assert azure_style.status_code == 404

    with OpenAI(base_url=base_url, api_key="s3cret", max_retries=0) as client:  # Bearer
        assert client.responses.create(model="gpt-4o", input="x").output_text == "keyed"

    code, _, err = running.stop(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so supervisors see why it stopped.
    assert (code, err) == (-signal.SIGTERM, "")


def test_serve_refuses_a_public_address_without_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("agentkit serve must not start listening on 0.0.0.0 without a key")

    monkeypatch.setattr(uvicorn, "run", never)
    assert main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert capsys.readouterr() == (
        "",
        "agentkit serve: refusing to bind '0.0.0.0' without an API key: anyone on the network "
        "could use this server. Pass --api-key (or api_key=...) or bind 127.0.0.1.\n",
    )


def test_serve_binds_a_public_address_when_given_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    runs: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append(options))
    argv = ["serve", "--host", "0.0.0.0", "--port", "9", "--api-key", "k", "--db", ":memory:"]
    assert main(argv) == 0
    assert runs == [
        {"host": "0.0.0.0", "port": 9, "log_level": "warning", "timeout_graceful_shutdown": 5}
    ]
    assert capsys.readouterr().out.startswith(
        "agentkit serve: Responses API at http://0.0.0.0:9/v1 (engine auto, db :memory:)\n"
    )


def test_serve_passes_the_pace_to_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    apps: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: apps.append(app))

    assert main(["serve", "--db", ":memory:", "--pace-ms", "25"]) == 0

    [app] = apps
    assert app.state.server.config.pace_ms == 25.0
