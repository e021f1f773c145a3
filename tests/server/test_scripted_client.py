"""`agentkit.testing.ScriptedClient` against a real `agentkit serve --engine scripted` process."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
from serve_process import Serve, server_env

from agentkit.testing import ScriptedClient, call, fail, say, think


def test_queue_answers_read_requests_and_clear(tmp_path: Path, serve: Serve) -> None:
    env = {**server_env(), "AGENTKIT_SERVER_API_KEY": "serve-key"}
    running = serve("--db", str(tmp_path / "s.db"), "--engine", "scripted", env=env)
    openai_client = openai.OpenAI(base_url=running.url + "/v1", api_key="serve-key", max_retries=0)

    with ScriptedClient(running.url + "/v1", api_key="serve-key") as script:
        pending = script.queue(
            [think("Look it up."), call("get_weather", city="Paris")],
            say("Sunny."),
            say("Only for mini."),
            model="gpt-4o-mini",
        )
        assert pending == {"gpt-4o-mini": 3}
        script.queue(fail(503, "Overloaded.", "server_busy"))

        first = openai_client.responses.create(model="gpt-4o-mini", input="Weather?")
        with pytest.raises(openai.InternalServerError) as failed:
            openai_client.responses.create(model="gpt-4o", input="Hi")

        assert [item.type for item in first.output] == ["reasoning", "function_call"]
        assert failed.value.status_code == 503 and failed.value.code == "server_busy"
        assert [r["input"] for r in script.requests()] == ["Weather?", "Hi"]
        assert script.pending() == {"gpt-4o-mini": 2}
        script.clear()
        script.clear_requests()
        assert (script.pending(), script.requests()) == ({}, [])
    openai_client.close()


def test_bad_steps_and_a_server_without_scripting(tmp_path: Path, serve: Serve) -> None:
    scripted = serve("--db", str(tmp_path / "a.db"), "--engine", "scripted")
    auto = serve("--db", str(tmp_path / "b.db"))

    with ScriptedClient(scripted.url) as script:
        with pytest.raises(ValueError, match=r"refused POST .*Step \[0\] needs a non-empty"):
            script.queue({"output": []})
        assert script.pending() == {}
    with ScriptedClient(auto.url) as script, pytest.raises(RuntimeError, match="--engine scripted"):
        script.pending()
