"""The how-to page's samples about background tasks, cancel and stream resume, run unchanged.

As in `test_samples.py`, each sample's body is copied from
`../shared/reference/azure-responses-api-nl.txt` and only the client construction changes (the
page's `AzureOpenAI(... azure_ad_token_provider=...)` becomes the same client with an API key,
and the plain `OpenAI` client on `/v1`); the cancel sample's literal id becomes a real one. The
server paces its deltas (`pace_ms`) so that "Write me a very long story" takes a few seconds
and the page's polling loop, which sleeps 2 s between polls, really iterates.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from time import sleep

import pytest
from local_clients import client_maker
from openai import OpenAI

from agentkit.server import LocalServer
from agentkit.server.plan import Say

API_KEY = "sample-key"
PACE_MS = 600
"""The auto engine's story answer has 8 deltas: about 4.8 s, so polls at 2 s and 4 s see it run."""
MakeClient = Callable[[], OpenAI]


@pytest.fixture(scope="module")
def paced_server() -> Iterator[LocalServer]:
    with LocalServer(api_key=API_KEY, pace_ms=PACE_MS) as running:
        yield running


@pytest.fixture(params=["AzureOpenAI", "OpenAI"])
def make_client(request: pytest.FixtureRequest, paced_server: LocalServer) -> Iterator[MakeClient]:
    with client_maker(request.param, paced_server, API_KEY) as make:
        yield make


STORY_REPLY = 'You said: "Write me a very long story".'


def test_start_a_background_task(make_client: MakeClient, capsys: pytest.CaptureFixture[str]):
    client = make_client()
    response = client.responses.create(
        model = "o3",
        input = "Write me a very long story",
        background = True
    )  # fmt: skip
    print(response.status)

    assert capsys.readouterr().out == "queued\n"


def test_poll_a_background_response(make_client: MakeClient, capsys: pytest.CaptureFixture[str]):
    client = make_client()
    response = client.responses.create(
        model = "o3",
        input = "Write me a very long story",
        background = True
    )  # fmt: skip

    while response.status in {"queued", "in_progress"}:
        print(f"Current status: {response.status}")
        sleep(2)
        response = client.responses.retrieve(response.id)

    print(f"Final status: {response.status}\nOutput:\n{response.output_text}")

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Current status: queued"
    polled = lines[1:-3]
    assert polled.count("Current status: in_progress") >= 2, lines
    assert lines[-3:] == ["Final status: completed", "Output:", STORY_REPLY]


def test_cancel_a_background_response(make_client: MakeClient, capsys: pytest.CaptureFixture[str]):
    running = make_client().responses.create(
        model="o3", input="Write me a very long story", background=True
    )

    client = make_client()
    response = client.responses.cancel(running.id)
    print(response.status)

    assert capsys.readouterr().out == "cancelled\n"
    again = client.responses.cancel(running.id)  # idempotent: the same final object
    assert again.model_dump() == response.model_dump()


def test_stream_a_background_response(make_client: MakeClient, capsys: pytest.CaptureFixture[str]):
    client = make_client()
    # Fire off an async response but also start streaming immediately
    stream = client.responses.create(
        model="o3",
        input="Write me a very long story",
        background=True,
        stream=True,
    )

    # The page's loop reads `event["sequence_number"]`, but the SDK's events are pydantic
    # models, which cannot be subscripted: the sample stops at its first event, whatever the
    # server. What the server sent up to there is what the page shows.
    with pytest.raises(TypeError, match="not subscriptable"):
        cursor = None
        for event in stream:
            print(event)
            cursor = event["sequence_number"]
    stream.close()
    assert capsys.readouterr().out.startswith("ResponseCreatedEvent(")

    # The same loop with attribute access runs to the end, numbering every event.
    stream = client.responses.create(
        model="o3", input="Write me a very long story", background=True, stream=True
    )
    cursor = None
    types = []
    for event in stream:
        types.append(event.type)
        cursor = event.sequence_number
    assert types[:3] == ["response.created", "response.queued", "response.in_progress"]
    assert types[-1] == "response.completed"
    assert cursor == len(types) - 1


def test_resume_streaming_from_a_specific_point_with_curl(tmp_path: os.PathLike[str]):
    """The page's curl command, its URL kept whole (the shell would cut it at `&`)."""
    with LocalServer(engine="scripted", api_key=API_KEY) as server:
        server.scripted.queue(Say(" ".join(f"word{n}" for n in range(60))))
        client = OpenAI(base_url=server.base_url, api_key=API_KEY)
        events = list(
            client.responses.create(model="o3", input="Write", background=True, stream=True)
        )
        url = (
            f"{server.url}/openai/v1/responses/{events[0].response.id}"
            "?stream=true&starting_after=42&api-version=2025-04-01-preview"
        )
        done = subprocess.run(
            [
                "curl", "--silent", url,
                "-H", "Content-Type: application/json",
                "-H", f"Authorization: Bearer {os.environ.get('AZURE_OPENAI_AUTH_TOKEN', API_KEY)}",
            ],
            capture_output=True, check=True, timeout=30,
        )  # fmt: skip
        client.close()

    frames = [f for f in done.stdout.decode().split("\n\n") if f]
    assert len(frames) == len(events) - 43
    assert frames[0].startswith("event: response.output_text.delta\ndata: ")
    assert '"sequence_number":43,' in frames[0]
    assert frames[-1].startswith("event: response.completed\n")
