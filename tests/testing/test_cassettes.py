"""Record and replay at the wire, in-process: streams, chains, the service's rules on replay,
and no secret in a cassette."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest

from agentkit import Agent, TextDelta, tool
from agentkit.server import LocalServer
from agentkit.server.http.thread import ServerThread
from agentkit.testing import Cassette
from agentkit.testing.record import Recorder, recording_app
from agentkit.testing.replay import Replayer, replay_app

UPSTREAM_KEY = "upstream-key-0a9b8c"


@tool
def get_weather(city: str) -> dict[str, object]:
    """Current weather for a city.

    Args:
        city: The city's name.
    """
    return {"city": city, "temperature_c": 21}


@pytest.fixture
def upstream() -> Iterator[LocalServer]:
    with LocalServer(api_key=UPSTREAM_KEY) as server:
        yield server


def record(upstream: LocalServer, path: Path, run: Callable[[openai.OpenAI], object]) -> Cassette:
    """Run `run(client)` with a client on a recording proxy to `upstream`; save to `path`."""
    recorder = Recorder(openai.AsyncOpenAI(base_url=upstream.base_url, api_key=UPSTREAM_KEY))
    with ServerThread(recording_app(recorder)) as proxy, _client(proxy.url, "agent-key-55") as c:
        run(c)
    return recorder.save(path)


def _client(url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0)


ReplayOf = Callable[[Path], tuple[openai.OpenAI, Replayer]]


@pytest.fixture
def replay_of() -> Iterator[ReplayOf]:
    started: list[tuple[ServerThread, Replayer]] = []

    def start(path: Path) -> tuple[openai.OpenAI, Replayer]:
        replayer = Replayer.open(path)
        thread = ServerThread(replay_app(replayer), lifespan="off").start()
        started.append((thread, replayer))
        return _client(thread.url, "replay"), replayer

    yield start
    for thread, replayer in started:
        thread.stop()
        replayer.close()


def stream_text(agent: Agent[str], prompt: str) -> tuple[str, str]:
    """The text deltas of a streamed run, and its answer."""
    import asyncio

    async def main() -> tuple[str, str]:
        deltas, output = [], ""
        async for event in agent.stream(prompt):
            if isinstance(event, TextDelta):
                deltas.append(event.delta)
            elif hasattr(event, "result"):
                output = event.result.output
        await agent.aclose()
        return "".join(deltas), output

    return asyncio.run(main())


def test_a_streamed_run_with_a_tool_replays_event_for_event(
    upstream: LocalServer, tmp_path: Path, replay_of: ReplayOf
) -> None:
    path = tmp_path / "stream.json"
    live: list[tuple[str, str]] = []

    def run(client: openai.OpenAI) -> None:
        agent = Agent(model="gpt-4o", tools=[get_weather], client=client)
        live.append(stream_text(agent, "What's the weather in Paris?"))

    cassette = record(upstream, path, run)
    client, replayer = replay_of(path)
    agent = Agent(model="gpt-4o", tools=[get_weather], client=client)
    replayed = stream_text(agent, "What's the weather in Paris?")

    assert [replayed] == live
    assert "get_weather returned" in replayed[1]
    assert [e.events is not None for e in cassette.exchanges] == [True, True]
    assert replayer.report() == ""
    second = replayer.requests[1]
    assert (
        second["previous_response_id"]
        == json.loads(
            cassette.exchanges[0].events[-1].split("data: ", 1)[1]  # type: ignore[index]
        )["response"]["id"]
    )


def test_replay_applies_the_services_rules(
    upstream: LocalServer, tmp_path: Path, replay_of: ReplayOf
) -> None:
    path = tmp_path / "one.json"
    record(upstream, path, lambda c: c.responses.create(model="gpt-4o", input="Hi"))
    client, replayer = replay_of(path)

    with pytest.raises(openai.BadRequestError) as out_of_range:
        client.responses.create(model="gpt-4o", input="Hi", temperature=5)
    with pytest.raises(openai.BadRequestError) as unknown_chain:
        client.responses.create(model="gpt-4o", input="Hi", previous_response_id="resp_nope")

    assert out_of_range.value.code == "invalid_value"  # the local server's own answer
    assert unknown_chain.value.code == "previous_response_not_found"
    assert [p.split(":")[0] for p in replayer.problems] == [
        "request 1 (POST /responses) breaks the service's rules",
        "request 2 (POST /responses) breaks the service's rules",
    ]
    assert client.responses.create(model="gpt-4o", input="Hi").output_text  # as recorded
    assert replayer.report() == "\n\n".join(replayer.problems)


def test_a_request_beyond_the_cassette_is_refused(
    upstream: LocalServer, tmp_path: Path, replay_of: ReplayOf
) -> None:
    path = tmp_path / "one.json"
    record(upstream, path, lambda c: c.responses.create(model="gpt-4o", input="Hi"))
    client, replayer = replay_of(path)
    client.responses.create(model="gpt-4o", input="Hi")

    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model="gpt-4o", input="Hi")

    assert refused.value.code == "cassette_mismatch"
    assert f"POST /responses is not in {path}" in str(refused.value)
    assert replayer.problems == [f"POST /responses is not in {path}"]


def test_no_secret_reaches_a_cassette(upstream: LocalServer, tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    mcp = {
        "type": "mcp",
        "server_label": "files",
        "server_url": "http://127.0.0.1:9/mcp",  # refused at once: the error is recorded too
        "headers": {"Authorization": "Bearer mcp-secret-31337"},
        "require_approval": "never",
    }

    def run(client: openai.OpenAI) -> None:
        with pytest.raises(openai.APIStatusError):
            client.responses.create(model="gpt-4o", input="List files", tools=[mcp])  # type: ignore[list-item]

    cassette = record(upstream, path, run)
    text = path.read_text()

    assert cassette.exchanges[0].body["tools"][0]["headers"] == "<redacted>"
    for secret in ("mcp-secret-31337", UPSTREAM_KEY, "agent-key-55"):
        assert secret not in text
    assert cassette.exchanges[0].status >= 400


def test_a_file_that_is_not_a_cassette(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"format": 7}')

    with pytest.raises(ValueError, match="is not an agentkit cassette of format 1"):
        Cassette.load(path)


def test_a_file_upload_through_the_recorder_is_refused_clearly(upstream: LocalServer) -> None:
    recorder = Recorder(openai.AsyncOpenAI(base_url=upstream.base_url, api_key=UPSTREAM_KEY))
    with (
        ServerThread(recording_app(recorder)) as proxy,
        _client(proxy.url, "k") as client,
        pytest.raises(openai.BadRequestError) as refused,
    ):
        client.files.create(file=("notes.txt", b"hello"), purpose="user_data")

    assert refused.value.code == "not_recordable"
    assert "only JSON requests are recorded, not POST /files" in str(refused.value)
    assert recorder.cassette.exchanges == []
