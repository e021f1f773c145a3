"""What a broken model call becomes for an agent: a retry where safe, else a typed error that
carries the state to resume (answers scripted exactly by a plain HTTP server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest

from agentkit import (
    Agent,
    Background,
    MalformedResponseError,
    ModelCallError,
    ModelCallInterrupted,
    RemoteMCP,
    RetryPolicy,
    RunState,
)
from agentkit.run.events import BackgroundStatus, TextDelta

from ._scripted import Reply, ScriptedServer, response_json
from .test_call import background_events

FAST = RetryPolicy(max_attempts=3, initial_backoff=0, max_backoff=0, jitter=0)
MAIL = RemoteMCP(
    server_label="mail", server_url="https://mail.example/mcp", require_approval="never"
)
HTML = Reply(raw=b"<html><body>Bad gateway</body></html>", content_type="text/html")

Make = Callable[..., Agent[Any]]


@pytest.fixture
def make(client: openai.AsyncOpenAI) -> Make:
    def build(**options: Any) -> Agent[Any]:
        return Agent(**{"model": "gpt-test", "client": client, "retry": FAST, **options})

    return build


async def test_a_malformed_answer_is_retried_when_safe(server: ScriptedServer, make: Make) -> None:
    server.script(HTML, Reply(json=response_json("fine")))
    assert (await make().run("hi")).output == "fine"
    assert len(server.received) == 2


async def test_a_malformed_answer_with_hosted_tools_raises_with_the_state(
    server: ScriptedServer, make: Make
) -> None:
    server.script(HTML, Reply(json=response_json("fine")))
    with pytest.raises(MalformedResponseError, match="Bad gateway") as caught:
        await make(tools=[MAIL]).run("mail Bob")
    assert len(server.received) == 1
    state = caught.value.state
    assert isinstance(state, RunState) and state.status == "failed"
    assert caught.value.code == "malformed_response"
    result = await make(tools=[MAIL]).resume(state)  # the user decides to send it again
    assert result.output == "fine"


async def test_a_broken_stream_with_hosted_tools_is_not_resent(
    server: ScriptedServer, make: Make
) -> None:
    events = [
        {**e, "response": {**e["response"], "background": False}} if "response" in e else e
        for e in background_events()
    ]
    server.script(Reply(events=events, drop_after=4))
    with pytest.raises(ModelCallInterrupted, match="not sent again") as caught:
        async for _ in make(tools=[MAIL]).stream("mail Bob"):
            pass
    assert len(server.received) == 1
    assert caught.value.state.status == "failed"


async def test_the_services_mid_stream_error_is_a_typed_error(
    server: ScriptedServer, make: Make
) -> None:
    created = background_events()[0]
    failed = {
        **response_json(),
        "status": "failed",
        "error": {"code": "server_error", "message": "It broke."},
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
                        "message": "It broke.",
                        "param": None,
                    },
                },
                {"type": "response.failed", "sequence_number": 2, "response": failed},
            ]
        )
    )
    with pytest.raises(ModelCallError, match="It broke") as caught:
        async for _ in make().stream("hi"):
            pass
    assert caught.value.code == "server_error"


async def test_a_background_run_resumes_its_dropped_stream(
    server: ScriptedServer, make: Make
) -> None:
    events = background_events("one two three")
    server.script(Reply(events=events, drop_after=4), Reply(events=events[4:]))
    seen = [event async for event in make(background=Background()).stream("count")]
    assert [e.delta for e in seen if isinstance(e, TextDelta)] == ["one", "two", "three"]
    assert [e.status for e in seen if isinstance(e, BackgroundStatus)] == ["queued", "in_progress"]
    assert [r.method for r in server.received] == ["POST", "GET"]
