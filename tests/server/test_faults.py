"""Stream resume and scripted faults over HTTP: drops, stalls, mid-stream errors, broken 200s,
and a server killed with a background response running (a real subprocess, a real SIGKILL).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from openai import OpenAI

from agentkit.server import LocalServer
from agentkit.server.plan import Abort, Drop, Malformed, Pace, Say, Stall, Wait

STORY = " ".join(f"word{n}" for n in range(40))


@pytest.fixture
def http(scripted: LocalServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=scripted.base_url, timeout=30) as client:
        yield client


def sse_events(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(f.split(b"\ndata: ", 1)[1]) for f in raw.split(b"\n\n") if f.strip()]


# --- resume ------------------------------------------------------------------------------------


def test_a_dropped_background_stream_resumes_without_gaps_or_duplicates(
    scripted: LocalServer, scripted_client: OpenAI
):
    scripted.scripted.queue([Pace(5), Say(STORY), Drop(after=7)])
    seen: list[Any] = []
    stream = scripted_client.responses.create(
        model="gpt-4o", input="Tell me", background=True, stream=True
    )
    with pytest.raises(openai.APIConnectionError):
        for event in stream:
            seen.append(event)
    assert len(seen) == 7
    response_id = seen[0].response.id

    resumed = list(
        scripted_client.responses.retrieve(
            response_id, stream=True, starting_after=seen[-1].sequence_number
        )
    )

    numbers = [e.sequence_number for e in seen + resumed]
    assert numbers == list(range(len(numbers)))
    assert resumed[-1].type == "response.completed"
    final = scripted_client.responses.retrieve(response_id)
    assert resumed[-1].response.model_dump() == final.model_dump()
    assert final.output_text == STORY
    deltas = "".join(e.delta for e in seen + resumed if e.type == "response.output_text.delta")
    assert deltas == STORY


def test_a_finished_response_replays_from_any_point_on_every_route(
    scripted: LocalServer, scripted_client: OpenAI
):
    scripted.scripted.queue(Say("All done here."))
    events = list(
        scripted_client.responses.create(model="gpt-4o", input="Hi", background=True, stream=True)
    )
    response_id = events[0].response.id

    whole = list(scripted_client.responses.retrieve(response_id, stream=True))
    with httpx2.Client(base_url=scripted.url) as raw:
        azure = raw.get(
            f"/openai/v1/responses/{response_id}",
            params={"stream": "true", "starting_after": "3", "api-version": "preview"},
        )

    assert [e.model_dump() for e in whole] == [e.model_dump() for e in events]
    assert [e["sequence_number"] for e in sse_events(azure.content)] == list(range(4, len(events)))


def test_resume_follows_a_running_response_live(scripted: LocalServer, scripted_client: OpenAI):
    scripted.scripted.queue([Say("Before."), Wait(0.8), Say("After.")])
    created = scripted_client.responses.create(
        model="gpt-4o", input="Go", background=True, stream=True
    )
    first = next(iter(created))
    created.close()  # the client goes away; the response goes on

    resumed = list(scripted_client.responses.retrieve(first.response.id, stream=True))

    assert resumed[0].sequence_number == 0
    assert resumed[-1].type == "response.completed"
    assert resumed[-1].response.output_text == "Before.After."


def test_resume_is_refused_as_the_service_refuses_it(
    scripted: LocalServer, scripted_client: OpenAI, http: httpx2.Client
):
    scripted.scripted.queue(Say("a"), Say("b"))
    synchronous = scripted_client.responses.create(model="gpt-4o", input="Hi")
    quiet = scripted_client.responses.create(model="gpt-4o", input="Hi", background=True)

    not_background = http.get(f"/responses/{synchronous.id}", params={"stream": "true"})
    not_streamed = http.get(f"/responses/{quiet.id}", params={"stream": "true"})
    bad_cursor = http.get(
        f"/responses/{quiet.id}", params={"stream": "true", "starting_after": "x"}
    )

    assert not_background.status_code == not_streamed.status_code == 400
    assert "created with background=true" in not_background.json()["error"]["message"]
    assert not_streamed.json()["error"]["message"] == (
        "This response cannot be streamed because it was not created with stream=true."
    )
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["error"]["param"] == "starting_after"


# --- faults ------------------------------------------------------------------------------------


def test_a_stall_sends_nothing_while_a_background_response_goes_on(
    scripted: LocalServer, scripted_client: OpenAI
):
    scripted.scripted.queue([Say("Quick answer."), Stall(after=3, seconds=1.5)])
    stream = scripted_client.responses.create(
        model="gpt-4o", input="Hi", background=True, stream=True
    )
    events = iter(stream)
    first = [next(events) for _ in range(3)]
    response_id = first[0].response.id

    # Nothing arrives for a while, yet the response finishes meanwhile.
    deadline = time.monotonic() + 10
    while scripted_client.responses.retrieve(response_id).status != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    started = time.monotonic()
    rest = list(events)

    assert time.monotonic() - started > 0.5  # the stall was still going on
    assert [e.sequence_number for e in first + rest] == list(range(len(first) + len(rest)))
    assert rest[-1].type == "response.completed"


def test_a_mid_stream_error_fails_the_response(
    scripted: LocalServer, scripted_client: OpenAI, http: httpx2.Client
):
    scripted.scripted.queue(
        [Say("Partial."), Abort("The model had an error.", code="server_error")],
        [Say("Partial."), Abort("Quota.", code="insufficient_quota", type="insufficient_quota")],
    )
    seen: list[Any] = []
    with pytest.raises(openai.APIError) as raised:
        for event in scripted_client.responses.create(model="gpt-4o", input="Hi", stream=True):
            seen.append(event)
    raw = http.post("/responses", json={"model": "gpt-4o", "input": "Hi", "stream": True})
    events = sse_events(raw.content)

    assert raised.value.message == "The model had an error."
    assert seen[-1].type == "response.output_item.done"
    failed = scripted_client.responses.retrieve(seen[0].response.id)
    assert failed.status == "failed"
    assert failed.error is not None and failed.error.code == "server_error"
    assert failed.output_text == "Partial."
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert events[-2]["error"] == {
        "type": "insufficient_quota",
        "code": "insufficient_quota",
        "message": "Quota.",
        "param": None,
    }
    assert events[-1]["response"]["error"] == {"code": "server_error", "message": "Quota."}


def test_a_json_answer_with_an_abort_is_a_server_error(
    scripted: LocalServer, scripted_client: OpenAI
):
    scripted.scripted.queue([Say("Partial."), Abort("Broke.")])
    with pytest.raises(openai.InternalServerError) as raised:
        scripted_client.responses.create(model="gpt-4o", input="Hi")
    assert raised.value.body["message"] == "Broke."  # type: ignore[index]


@pytest.mark.parametrize("stream", [False, True])
def test_malformed_answers_are_a_200_no_client_can_read(
    scripted: LocalServer, http: httpx2.Client, stream: bool
):
    scripted.scripted.queue(
        [Say("Hidden."), Malformed("truncated")], [Say("Hidden."), Malformed("html")]
    )
    body = {"model": "gpt-4o", "input": "Hi", "stream": stream}

    truncated = http.post("/responses", json=body)
    html = http.post("/responses", json=body)

    assert truncated.status_code == html.status_code == 200
    assert html.headers["content-type"] == "text/html"
    assert b"502 Bad Gateway" in html.content
    text = truncated.content.decode()
    payload = text.split("data: ", 1)[1] if stream else text
    with pytest.raises(json.JSONDecodeError):
        json.loads(payload)


def test_the_sdk_fails_on_a_truncated_json_answer_and_the_response_exists(
    scripted: LocalServer, scripted_client: OpenAI
):
    scripted.scripted.queue([Say("Saved anyway."), Malformed("truncated")])
    with pytest.raises((json.JSONDecodeError, openai.APIResponseValidationError)):
        scripted_client.responses.create(model="gpt-4o", input="Hi")
    [stored] = [r for r in scripted.requests if r.get("input") == "Hi"]
    assert stored["model"] == "gpt-4o"


def test_a_dropped_json_answer_loses_the_answer_not_the_response(
    scripted: LocalServer, scripted_client: OpenAI
):
    scripted.scripted.queue([Say("Made."), Drop(after=0)])
    with pytest.raises(openai.APIConnectionError):
        scripted_client.responses.create(model="gpt-4o", input="Hi", background=True)
    deadline = time.monotonic() + 10
    while not (done := _finished(scripted)):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert scripted_client.responses.retrieve(done).output_text == "Made."


def _finished(server: LocalServer) -> str | None:
    records = server.state.background.runs._db.execute(
        "SELECT id FROM background WHERE finished = 1"
    ).fetchall()
    return records[0][0] if records else None


def test_faults_never_touch_resumes_or_retrieves(scripted: LocalServer, scripted_client: OpenAI):
    scripted.scripted.queue([Say("Twice read."), Stall(after=0, seconds=30), Drop(after=1)])
    stream = scripted_client.responses.create(
        model="gpt-4o", input="Hi", background=True, stream=True
    )
    stream.close()
    deadline = time.monotonic() + 10
    while not (running := _finished(scripted)):
        assert time.monotonic() < deadline
        time.sleep(0.02)

    resumed = list(scripted_client.responses.retrieve(running, stream=True))

    assert resumed[-1].type == "response.completed"
    assert scripted_client.responses.retrieve(running).output_text == "Twice read."


def test_control_steps_over_http(scripted: LocalServer, http: httpx2.Client):
    steps = [
        {"type": "queued", "seconds": 0.1},
        {"type": "pace", "ms": 1},
        {"type": "message", "text": "Paced."},
        {"type": "wait", "seconds": 0.1},
        {"type": "stall", "after": 2, "seconds": 0.1},
        {"type": "error", "message": "Gone.", "code": "server_error"},
    ]
    with httpx2.Client(base_url=scripted.url) as control:
        assert control.post("/_agentkit/scripted/queue", json={"output": steps}).status_code == 200
        bad = control.post(
            "/_agentkit/scripted/queue", json={"output": [{"type": "drop", "after": -1}]}
        )
        worse = control.post(
            "/_agentkit/scripted/queue", json={"output": [{"type": "malformed", "body": "xml"}]}
        )

    events = sse_events(
        http.post("/responses", json={"model": "m", "input": "x", "stream": True}).content
    )

    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert "Paced." in [e.get("text") for e in events]
    assert bad.status_code == worse.status_code == 400
    assert "'after'" in bad.json()["error"]["message"]
    assert "'body'" in worse.json()["error"]["message"]


# --- a server killed mid-response --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(db: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "agentkit.cli", "serve", "--engine", "scripted"]
    process = subprocess.Popen(
        [*command, "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != "AGENTKIT_SERVER_API_KEY"},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx2.get(f"http://127.0.0.1:{port}/_agentkit/scripted/queue", timeout=1)
            return process
        except httpx2.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the server did not start")


def test_a_killed_server_fails_its_running_responses_on_the_next_start(tmp_path: Path):
    db, port = tmp_path / "server.db", _free_port()
    server = _serve(db, port)
    base = f"http://127.0.0.1:{port}"
    try:
        steps = [{"type": "message", "text": "Started."}, {"type": "wait", "seconds": 60}]
        httpx2.post(f"{base}/_agentkit/scripted/queue", json={"output": steps})
        client = OpenAI(base_url=f"{base}/v1", api_key="k", max_retries=0)
        seen = []
        for event in client.responses.create(model="m", input="Go", background=True, stream=True):
            seen.append(event)
            if event.type == "response.output_item.done":
                break
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(10)

    server = _serve(db, port)
    try:
        response_id = seen[0].response.id
        failed = client.responses.retrieve(response_id)
        after = seen[-1].sequence_number
        # Read raw: the SDK raises at the `error` event, as it should.
        resumed = httpx2.get(
            f"{base}/v1/responses/{response_id}?stream=true&starting_after={after}", timeout=10
        )
    finally:
        server.terminate()
        server.wait(10)
        client.close()

    assert failed.status == "failed"
    assert failed.error is not None and failed.error.code == "server_error"
    assert "server stopped" in failed.error.message
    rest = sse_events(resumed.content)
    numbers = [e.sequence_number for e in seen] + [e["sequence_number"] for e in rest]
    assert numbers == list(range(len(numbers)))
    assert [e["type"] for e in rest] == ["error", "response.failed"]
    assert rest[-1]["response"]["error"] == {
        "code": "server_error",
        "message": failed.error.message,
    }
