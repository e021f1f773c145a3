"""`agentkit serve` as a real subprocess: it prints its URL, serves, checks keys, stops cleanly."""

from __future__ import annotations

import re
import signal
import sqlite3
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
import uvicorn
from openai import OpenAI
from serve_process import KEY_VARIABLES, Serve, server_env

from agentkit.cli import main


def test_serve_prints_its_url_serves_and_stops_on_ctrl_c(tmp_path: Path, serve: Serve) -> None:
    db = tmp_path / "cli.db"
    running = serve("--db", str(db), "--reasoning-models", "my-*, think*")
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
    assert (code, out) == (0, "")
    # One access line per request at INFO (the default level), with the id the client got.
    access = re.findall(r" INFO agentkit\.server\.access: (.+)\n", err)
    assert [re.sub(r" [\d.]+ms ", " <ms> ", line) for line in access] == [
        f"POST /v1/responses 200 <ms> {created._request_id}" for created in (response, thinker, o3)
    ]
    assert "ERROR" not in err and "Traceback" not in err
    with sqlite3.connect(db) as reopened:
        stored = {row[0] for row in reopened.execute("SELECT id FROM responses")}
    assert stored == {response.id, thinker.id, o3.id}


def test_serve_enforces_the_api_key_and_stops_on_sigterm(tmp_path: Path, serve: Serve) -> None:
    env = {**server_env(), "AGENTKIT_SERVER_API_KEY": "s3cret"}
    running = serve("--db", str(tmp_path / "k.db"), "--engine", "scripted", env=env)
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

    with httpx2.Client(base_url=running.url) as http:
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
    assert code == -signal.SIGTERM
    statuses = re.findall(r"agentkit\.server\.access: (\S+ \S+ \d+) ", err)
    assert statuses == [
        "POST /v1/responses 401",
        "POST /_agentkit/scripted/queue 401",
        "POST /_agentkit/scripted/queue 200",
        "GET /openai/v1/responses/resp_x 404",
        "POST /v1/responses 200",
    ]
    assert "s3cret" not in err and "wrong" not in err and "keyed" not in err  # no keys, no bodies


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
    # uvicorn logs through ours (log_config=None), without its access log (ours has ids).
    assert runs == [
        {
            "host": "0.0.0.0",
            "port": 9,
            "log_level": "info",
            "log_config": None,
            "access_log": False,
            "timeout_graceful_shutdown": 5,
        }
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
