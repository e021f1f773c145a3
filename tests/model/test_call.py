"""One model call on the wire, every way it can go: what is resent, resumed, reattached, cancelled.

A scripted HTTP server answers exactly as each case needs (drops, stalls, malformed answers),
so each test asserts the requests agentkit made, in order.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest

from agentkit.model import Attachment, Background, CallSettings, Finished, RetryPolicy, Timeouts
from agentkit.model.call import ResponseLost, respond
from agentkit.model.wire import MalformedAnswer, StreamFailed, StreamInterrupted

from ._scripted import Reply, ScriptedServer, background_events, error_json, response_json

FAST = RetryPolicy(max_attempts=3, initial_backoff=0, max_backoff=0, jitter=0)
BODY: dict[str, Any] = {"model": "gpt-test", "input": "Hi"}
MCP = {"type": "mcp", "server_label": "mail", "server_url": "https://mail.example/mcp"}
HOSTED_BODY: dict[str, Any] = {**BODY, "tools": [MCP]}
FUNCTION_BODY: dict[str, Any] = {
    **BODY,
    "tools": [{"type": "function", "name": "f", "parameters": {}, "strict": False}],
}


async def no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


def settings(**changes: Any) -> CallSettings:
    return CallSettings(**{"retry": FAST, "sleep": no_sleep, **changes})


async def collect(client: openai.AsyncOpenAI, body: dict[str, Any], **options: Any) -> list[Any]:
    attachment = options.pop("attachment", None)
    on_attach = options.pop("on_attach", None)
    return [
        item
        async for item in respond(
            client, body, settings(**options), attachment=attachment, on_attach=on_attach
        )
    ]


def deltas(items: list[Any]) -> list[str]:
    return [i["delta"] for i in items if isinstance(i, dict) and i["type"].endswith(".delta")]


# --- foreground ---------------------------------------------------------------------------------


async def test_a_plain_call_returns_the_body_as_sent(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(Reply(json=response_json("Hi there")))
    items = await collect(client, BODY)
    assert items == [Finished(response_json("Hi there"))]
    assert server.received[0].json() == BODY


@pytest.mark.parametrize(
    "answer",
    [
        Reply(raw=b'{"id": "resp_1", "object": "resp'),  # truncated
        Reply(raw=b"<html><body>502 Bad Gateway</body></html>", content_type="text/html"),
        Reply(json={"unexpected": True}),
    ],
    ids=["truncated", "html", "not-a-response"],
)
async def test_a_malformed_200_is_resent_when_that_is_safe(
    server: ScriptedServer, client: openai.AsyncOpenAI, answer: Reply
) -> None:
    server.script(answer, Reply(json=response_json("second")))
    items = await collect(client, FUNCTION_BODY)
    assert items[-1].body["output"][0]["content"][0]["text"] == "second"
    assert len(server.received) == 2


async def test_a_malformed_200_is_not_resent_when_hosted_tools_may_have_run(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(
        Reply(raw=b"<html>oops</html>", content_type="text/html"), Reply(json=response_json())
    )
    with pytest.raises(MalformedAnswer, match="not JSON"):
        await collect(client, HOSTED_BODY)
    assert len(server.received) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_is_not_resent_when_hosted_tools_may_have_run(
    server: ScriptedServer, client: openai.AsyncOpenAI, status: int
) -> None:
    server.script(Reply(status=status, json=error_json("oops")), Reply(json=response_json()))
    with pytest.raises(openai.APIStatusError):
        await collect(client, HOSTED_BODY)
    assert len(server.received) == 1


async def test_a_rate_limit_is_resent_even_with_hosted_tools(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(
        Reply(status=429, json=error_json("slow", code="rate_limit_exceeded")),
        Reply(json=response_json()),
    )
    items = await collect(client, HOSTED_BODY)
    assert isinstance(items[-1], Finished)
    assert len(server.received) == 2


async def test_a_refused_connection_is_retried_even_with_hosted_tools(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k") as client:
        with pytest.raises(openai.APIConnectionError):
            await collect(client, HOSTED_BODY)
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == FAST.max_attempts - 1


async def test_a_dropped_foreground_stream_starts_over_when_that_is_safe(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    events = background_events("one two three")
    foreground = [
        {**e, "response": {**e["response"], "background": False}} if "response" in e else e
        for e in events
    ]
    server.script(Reply(events=foreground, drop_after=4), Reply(events=foreground))
    items = await collect(client, FUNCTION_BODY, stream=True)
    assert isinstance(items[-1], Finished)
    assert deltas(items) == ["one", "one", "two", "three"]  # the retry streams from its start
    assert [r.method for r in server.received] == ["POST", "POST"]


async def test_a_dropped_foreground_stream_with_hosted_tools_is_not_resent(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(
        Reply(events=background_events(), drop_after=4), Reply(events=background_events())
    )
    with pytest.raises(StreamInterrupted) as caught:
        await collect(client, HOSTED_BODY, stream=True)
    assert caught.value.reason == "dropped"
    assert caught.value.response_id == "resp_bg"
    assert len(server.received) == 1


async def test_the_live_error_event_raises_with_its_code(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    created = background_events()[0]
    failed = {
        **response_json(),
        "status": "failed",
        "error": {"code": "server_error", "message": "boom"},
    }
    server.script(
        Reply(
            events=[
                created,
                {
                    "type": "error",
                    "sequence_number": 1,
                    "error": {
                        "type": "server_error",
                        "code": "server_error",
                        "message": "boom",
                        "param": None,
                    },
                },
                {"type": "response.failed", "sequence_number": 2, "response": failed},
            ]
        )
    )
    with pytest.raises(StreamFailed, match="boom") as caught:
        await collect(client, FUNCTION_BODY, stream=True)
    assert caught.value.code == "server_error"
    assert len(server.received) == 1


async def test_the_total_deadline_bounds_a_hung_endpoint(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(Reply(json=response_json(), delay=5))
    with pytest.raises(TimeoutError):
        await collect(client, BODY, timeouts=Timeouts(total=0.3))


async def test_the_total_deadline_bounds_opening_a_stream(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(Reply(events=background_events(), delay=5))
    with pytest.raises(TimeoutError):
        await collect(client, BODY, stream=True, timeouts=Timeouts(total=0.3))


# --- background ---------------------------------------------------------------------------------


async def test_a_dropped_background_stream_resumes_after_the_last_event(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    events = background_events("one two three four")
    server.script(
        Reply(events=events, drop_after=5),  # created, queued, in_progress, "one", "two"
        Reply(events=events[5:]),  # GET ?stream=true&starting_after=4
    )
    attached: list[str] = []

    async def on_attach(attachment: Attachment) -> None:
        attached.append(attachment.response_id)

    items = await collect(client, BODY, background=Background(), on_attach=on_attach)
    assert deltas(items) == ["one", "two", "three", "four"]
    assert isinstance(items[-1], Finished) and items[-1].body["status"] == "completed"
    assert attached == ["resp_bg"]
    posted, resumed = server.received
    assert posted.method == "POST" and posted.json() == {**BODY, "background": True, "stream": True}
    assert resumed.method == "GET" and resumed.path == "/v1/responses/resp_bg"
    assert resumed.query == "stream=true&starting_after=4"


async def test_a_stalled_background_stream_resumes_instead_of_hanging(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    events = background_events("one two")
    server.script(
        Reply(events=events, stall_after=4, stall=3),  # silent after "one"
        Reply(events=events[4:]),
    )
    items = await collect(client, BODY, background=Background(), timeouts=Timeouts(stall=0.3))
    assert deltas(items) == ["one", "two"]
    assert server.received[-1].query == "stream=true&starting_after=3"


async def test_a_resume_never_repeats_an_event_already_seen(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    events = background_events("one two three")
    server.script(
        Reply(events=events, drop_after=5),
        Reply(events=events[3:]),  # a server that replays from too early
    )
    items = await collect(client, BODY, background=Background())
    assert deltas(items) == ["one", "two", "three"]


async def test_when_resuming_fails_the_status_decides(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    events = background_events("one two")
    server.script(
        Reply(events=events, drop_after=4),
        Reply(status=503, json=error_json("busy")),  # the resumed stream is refused
        Reply(json={**events[2]["response"]}),  # the status check: still running
        Reply(status=502, json=error_json("gateway")),  # refused again
        Reply(json=events[-1]["response"]),  # the status check: it finished meanwhile
    )
    items = await collect(client, BODY, background=Background())
    assert items[-1] == Finished(events[-1]["response"])
    assert [(r.method, r.query) for r in server.received] == [
        ("POST", ""),
        ("GET", "stream=true&starting_after=3"),
        ("GET", ""),
        ("GET", "stream=true&starting_after=3"),
        ("GET", ""),
    ]


async def test_an_attachment_reattaches_without_creating(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    events = background_events("one two three")
    server.script(Reply(events=events[4:]))
    items = await collect(
        client, BODY, background=Background(), attachment=Attachment("resp_bg", 3)
    )
    assert deltas(items) == ["two", "three"]
    assert [(r.method, r.query) for r in server.received] == [
        ("GET", "stream=true&starting_after=3")
    ]


async def test_polling_reports_status_changes_until_the_end(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    events = background_events("done")
    queued, running, done = events[0]["response"], events[2]["response"], events[-1]["response"]
    server.script(Reply(json=queued), Reply(json=running), Reply(json=running), Reply(json=done))
    items = await collect(client, BODY, background=Background(stream=False))
    assert [i["type"] for i in items[:-1]] == ["response.queued", "response.in_progress"]
    assert items[-1] == Finished(done)
    assert [r.method for r in server.received] == ["POST", "GET", "GET", "GET"]
    assert server.received[0].json() == {**BODY, "background": True}


async def test_a_vanished_background_response_is_lost(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(Reply(status=404, json=error_json("No response with id 'resp_bg'.")))
    with pytest.raises(ResponseLost):
        await collect(client, BODY, background=Background(), attachment=Attachment("resp_bg", 3))


async def test_abandoning_a_background_call_cancels_its_response(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    events = background_events("slow")
    server.script(
        Reply(events=events, stall_after=3, stall=30),
        Reply(json={**events[-1]["response"], "status": "cancelled"}),
    )
    attached = asyncio.Event()

    async def on_attach(attachment: Attachment) -> None:
        attached.set()

    task = asyncio.create_task(collect(client, BODY, background=Background(), on_attach=on_attach))
    await attached.wait()
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cancel = server.received[-1]
    assert (cancel.method, cancel.path) == ("POST", "/v1/responses/resp_bg/cancel")


async def test_a_background_call_handed_over_is_not_cancelled(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    events = background_events("slow")
    server.script(Reply(events=events, stall_after=3, stall=30))
    attached = asyncio.Event()

    async def on_attach(attachment: Attachment) -> None:
        attached.set()

    background = Background(cancel_on_abandon=False)
    task = asyncio.create_task(collect(client, BODY, background=background, on_attach=on_attach))
    await attached.wait()
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [r.method for r in server.received] == ["POST"]


def test_attachments_round_trip_through_json() -> None:
    attachment = Attachment("resp_1", 41, streamed=False)
    assert Attachment.from_dict(json.loads(json.dumps(attachment.to_dict()))) == attachment
