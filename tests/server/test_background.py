"""Background responses over HTTP with the real `openai` client: lifecycle, cancel, resume.

Latency comes from scripted steps (`Wait`, `Hold`, `Pace`), never from sleeping in the test
beyond polling: a test waits on what the server reports, with generous bounds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import openai
import pytest
from hosted_mcp_servers import mcp_tool
from mcp.server.mcpserver import MCPServer
from mcp_testing import StreamableHTTPServer
from openai import OpenAI

from agentkit.server import LocalServer
from agentkit.server.plan import Hold, Hosted, Say, Wait

NON_TERMINAL = ("queued", "in_progress")


@pytest.fixture
def http(scripted: LocalServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=scripted.base_url, timeout=30) as client:
        yield client


def poll(client: OpenAI, response_id: str, every: float = 0.05) -> list[Any]:
    """Every retrieved response until one is terminal."""
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = client.responses.retrieve(response_id)
        seen.append(response)
        if response.status not in NON_TERMINAL:
            return seen
        time.sleep(every)
    raise AssertionError(f"{response_id} did not finish: {[r.status for r in seen]}")


def read_until(stream: Any, kind: str) -> list[Any]:
    """The stream's events up to the first of type `kind` (the stream stays open)."""
    events = []
    for event in stream:
        events.append(event)
        if event.type == kind:
            break
    return events


# --- lifecycle ---------------------------------------------------------------------------------


def test_create_returns_queued_at_once_and_polls_see_it_run(
    scripted: LocalServer, scripted_client: OpenAI
):
    scripted.scripted.queue([Hold(1.0), Wait(0.8), Say("Done at last.")])

    created = scripted_client.responses.create(model="gpt-4o", input="Go", background=True)
    polled = poll(scripted_client, created.id)

    assert created.status == "queued"
    assert created.background is True
    assert created.output == [] and created.usage is None
    statuses = [r.status for r in polled]
    assert statuses.count("queued") >= 2 and statuses.count("in_progress") >= 2
    assert statuses == sorted(statuses, key=["queued", "in_progress", "completed"].index)
    final = polled[-1]
    assert final.status == "completed"
    assert final.output_text == "Done at last."
    assert final.usage is not None and final.usage.output_tokens > 0
    assert final.completed_at is not None


def test_a_running_response_shows_the_output_made_so_far(
    scripted: LocalServer, scripted_client: OpenAI
):
    scripted.scripted.queue([Say("First part."), Wait(30), Say("Never said.")])
    created = scripted_client.responses.create(model="gpt-4o", input="Go", background=True)

    deadline = time.monotonic() + 10
    while not (running := scripted_client.responses.retrieve(created.id)).output:
        assert time.monotonic() < deadline
        time.sleep(0.02)

    assert running.status == "in_progress"
    assert running.output_text == "First part."
    scripted_client.responses.cancel(created.id)


def test_background_with_pacing_from_the_server_option():
    with (
        LocalServer(engine="scripted", pace_ms=100) as server,
        OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client,
    ):
        server.scripted.queue(Say("one two three four five six seven eight"))
        created = client.responses.create(model="gpt-4o", input="Go", background=True)
        polled = poll(client, created.id)

    assert sum(r.status in NON_TERMINAL for r in polled) >= 2
    assert polled[-1].output_text == "one two three four five six seven eight"


def test_background_stream_starts_queued_and_numbers_every_event(
    scripted: LocalServer, scripted_client: OpenAI
):
    scripted.scripted.queue(Say("Hello there."))

    events = list(
        scripted_client.responses.create(model="gpt-4o", input="Hi", background=True, stream=True)
    )

    kinds = [e.type for e in events]
    assert kinds[:3] == ["response.created", "response.queued", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert [e.response.status for e in events[:3]] == ["queued", "queued", "in_progress"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = scripted_client.responses.retrieve(events[0].response.id)
    assert final.model_dump() == events[-1].response.model_dump()


# --- cancel ------------------------------------------------------------------------------------


def test_cancel_stops_a_running_response_and_is_idempotent(
    scripted: LocalServer, scripted_client: OpenAI
):
    scripted.scripted.queue([Say("Before."), Wait(60), Say("After.")])
    created = scripted_client.responses.create(model="gpt-4o", input="Go", background=True)
    while not scripted_client.responses.retrieve(created.id).output:
        time.sleep(0.02)

    cancelled = scripted_client.responses.cancel(created.id)
    again = scripted_client.responses.cancel(created.id)
    retrieved = scripted_client.responses.retrieve(created.id)

    assert cancelled.status == "cancelled"
    assert cancelled.output_text == "Before."
    assert again.model_dump() == cancelled.model_dump()
    assert retrieved.model_dump() == cancelled.model_dump()
    assert scripted.state.background.running(created.id) is None


def test_cancel_interrupts_a_running_code_interpreter_cell(
    scripted: LocalServer, scripted_client: OpenAI
):
    code = "import time\ntime.sleep(120)\nprint('not reached')"
    scripted.scripted.queue([Hosted("code_interpreter", options={"code": code})], Say("no"))
    stream = scripted_client.responses.create(
        model="gpt-4o",
        input="Run it",
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
        background=True,
        stream=True,
    )
    events = read_until(stream, "response.code_interpreter_call.interpreting")
    response_id = events[0].response.id  # type: ignore[union-attr]
    containers = scripted.state.services["containers"]
    deadline = time.monotonic() + 10
    while not any(k.running for k in containers._kernels.values()):  # the cell is starting
        assert time.monotonic() < deadline
        time.sleep(0.02)
    [kernel] = containers._kernels.values()

    started = time.monotonic()
    cancelled = scripted_client.responses.cancel(response_id)

    assert cancelled.status == "cancelled"
    assert time.monotonic() - started < 20
    deadline = time.monotonic() + 10
    while kernel.running:
        assert time.monotonic() < deadline, "the cell's session was not stopped"
        time.sleep(0.05)
    assert list(stream) == []  # the stream ends after the last event: there is no terminal one
    stream.close()


def test_cancel_answers_as_the_service_for_other_responses(
    scripted: LocalServer, scripted_client: OpenAI
):
    scripted.scripted.queue(Say("Sync."), Say("Background."))
    synchronous = scripted_client.responses.create(model="gpt-4o", input="Hi")
    finished = scripted_client.responses.create(model="gpt-4o", input="Hi", background=True)
    poll(scripted_client, finished.id)

    with pytest.raises(openai.BadRequestError) as sync_error:
        scripted_client.responses.cancel(synchronous.id)
    with pytest.raises(openai.BadRequestError) as done_error:
        scripted_client.responses.cancel(finished.id)
    with pytest.raises(openai.NotFoundError):
        scripted_client.responses.cancel("resp_missing")

    assert sync_error.value.body["message"] == "Cannot cancel a synchronous response."  # type: ignore[index]
    assert done_error.value.body["message"] == "Cannot cancel a completed response."  # type: ignore[index]


def test_closing_a_synchronous_stream_stops_its_response(
    scripted: LocalServer, scripted_client: OpenAI
):
    scripted.scripted.queue([Say("Before."), Wait(60), Say("After.")])
    with scripted_client.responses.create(model="gpt-4o", input="Go", stream=True) as stream:
        events = read_until(stream, "response.output_item.done")
    response_id = events[0].response.id  # type: ignore[union-attr]

    deadline = time.monotonic() + 10
    while (stopped := scripted_client.responses.retrieve(response_id)).status != "cancelled":
        assert time.monotonic() < deadline, "the response kept running after the client left"
        time.sleep(0.02)
    assert stopped.output_text == "Before."
    # The response reads `cancelled` as soon as it is saved; its task ends just after.
    while scripted.state.tasks:
        assert time.monotonic() < deadline, "the cancelled response's task never ended"
        time.sleep(0.02)


def test_cancel_abandons_a_running_mcp_call(scripted: LocalServer, scripted_client: OpenAI):
    started = threading.Event()
    app: MCPServer = MCPServer("slow-tools", log_level="WARNING")

    @app.tool(description="Takes its time.")
    async def slow_lookup(query: str) -> str:
        started.set()
        await anyio.sleep(120)
        return "too late"

    with StreamableHTTPServer(app.streamable_http_app(), name="slow-mcp") as tools:
        scripted.scripted.queue(
            [Hosted("mcp", "slow_lookup", '{"query": "x"}', {"server_label": "slow"})], Say("no")
        )
        tool = mcp_tool(tools.url, "slow", require_approval="never")
        created = scripted_client.responses.create(
            model="gpt-4o",
            input="Look it up",
            tools=[tool],
            background=True,  # type: ignore[list-item]
        )
        assert started.wait(20), "the MCP call never started"

        begun = time.monotonic()
        cancelled = scripted_client.responses.cancel(created.id)

    assert time.monotonic() - begun < 10
    assert cancelled.status == "cancelled"
    assert [item.type for item in cancelled.output] == ["mcp_list_tools"]


def test_a_streamed_response_is_retrievable_while_it_runs(
    scripted: LocalServer, scripted_client: OpenAI
):
    scripted.scripted.queue([Say("So far."), Wait(60)])
    with scripted_client.responses.create(model="gpt-4o", input="Go", stream=True) as stream:
        events = read_until(stream, "response.output_item.done")
        running = scripted_client.responses.retrieve(events[0].response.id)  # type: ignore[union-attr]

    assert running.status == "in_progress"
    assert running.output_text == "So far."
