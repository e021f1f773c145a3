"""The model call activity on its own, in Temporal's activity test environment, against a
scripted HTTP server: what it sends, heartbeats, reattaches to, and how it fails (what
Temporal may retry, and what the workflow raises again)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import openai
import pytest
from temporalio.activity import ActivityCancellationDetails
from temporalio.api.failure.v1 import Failure
from temporalio.converter import DataConverter
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.testing import ActivityEnvironment

from agentkit import Agent, RemoteMCP
from agentkit.model import Background
from agentkit.model.call import ResponseLost
from agentkit.model.retry import reached_the_model
from agentkit.model.wire import MalformedAnswer, StreamFailed, StreamInterrupted
from agentkit.temporal import TemporalAgent
from agentkit.temporal.failures import describe, model_failure, raised_again
from agentkit.temporal.payloads import ModelCall

from ._scripted import Reply, ScriptedServer, background_events, error_json, response_json

BODY: dict[str, Any] = {"model": "gpt-test", "input": "Hi"}
MCP = {"type": "mcp", "server_label": "mail", "server_url": "https://mail.example/mcp"}
HOSTED_BODY: dict[str, Any] = {**BODY, "tools": [MCP]}
TOKEN = "Bearer mail-token-0123456789"


def worker(client: openai.AsyncOpenAI, **options: Any) -> TemporalAgent[Any]:
    return TemporalAgent(Agent(model="gpt-test", client=client, **options), name="probe")


class Attempt:
    """One activity attempt in Temporal's test environment, recording its heartbeats."""

    def __init__(
        self,
        *,
        details: dict[str, Any] | None = None,
        attempt: int = 1,
        heartbeat: timedelta = timedelta(seconds=30),
    ) -> None:
        self.environment = ActivityEnvironment()
        self.environment.info = dataclasses.replace(
            ActivityEnvironment.default_info(),
            attempt=attempt,
            heartbeat_details=[] if details is None else [details],
            heartbeat_timeout=heartbeat,
        )
        self.beats: list[tuple[Any, ...]] = []
        self.environment.on_heartbeat = lambda *details: self.beats.append(details)

    async def call(self, agent: TemporalAgent[Any], body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.environment.run(
            agent.worker.call_model, ModelCall(body)
        )
        return result

    def last(self) -> Any:
        return self.beats[-1][0] if self.beats and self.beats[-1] else None


async def test_a_background_call_heartbeats_its_response_from_the_first_event(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    events = background_events("one two")
    server.script(Reply(events=events))
    attempt = Attempt()

    answer = await attempt.call(worker(client, background=True), BODY)

    echoed = ("tools", "instructions")
    assert answer == {k: v for k, v in events[-1]["response"].items() if k not in echoed}
    assert attempt.beats[0] == (
        {"attachment": {"response_id": "resp_bg", "sequence": 0, "streamed": True}},
    )
    assert all(beat and "attachment" in beat[0] for beat in attempt.beats)  # never without it
    [posted] = server.received
    assert posted.json() == {**BODY, "background": True, "stream": True}


async def test_a_retried_attempt_reattaches_to_the_response_instead_of_creating_one(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    events = background_events("one two three")
    server.script(Reply(events=events[5:]))
    attempt = Attempt(details={"attachment": {"response_id": "resp_bg", "sequence": 4}}, attempt=2)

    answer = await attempt.call(worker(client, background=True), BODY)

    assert answer["id"] == "resp_bg" and answer["status"] == "completed"
    assert [(r.method, r.path, r.query) for r in server.received] == [
        ("GET", "/v1/responses/resp_bg", "stream=true&starting_after=4")
    ]
    assert attempt.beats == []  # a quick call: the last attempt's details still stand


async def test_while_a_stream_is_silent_the_timer_heartbeats_how_far_it_got(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    events = background_events("one two")
    server.script(Reply(events=events, stall_after=4, stall=0.6))  # silent after "one"
    attempt = Attempt(heartbeat=timedelta(seconds=0.3))  # a beat every 0.1 s

    await attempt.call(worker(client, background=True), BODY)

    sequences = [beat[0]["attachment"]["sequence"] for beat in attempt.beats]
    assert sequences[0] == 0 and sequences.count(3) >= 3  # kept alive, at the last event seen


async def test_a_failure_after_attaching_is_retried_by_temporal_from_the_heartbeat(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    events = background_events("one two")
    server.script(
        Reply(events=events, drop_after=4),  # created, queued, in_progress, "one"
        Reply(status=503, json=error_json("busy")),  # the resumed stream
        Reply(status=503, json=error_json("busy")),  # the status check: agentkit retries are off
    )
    attempt = Attempt()

    with pytest.raises(ApplicationError) as failed:
        await attempt.call(worker(client, background=True), BODY)

    assert failed.value.type == "APIStatusError" and not failed.value.non_retryable
    assert attempt.last() == {
        "attachment": {"response_id": "resp_bg", "sequence": 3, "streamed": True}
    }


async def test_a_response_gone_from_the_service_is_left_to_the_workflow(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(Reply(status=404, json=error_json("No response found.")))
    attempt = Attempt(
        details={"attachment": {"response_id": "resp_gone", "sequence": 2}}, attempt=3
    )

    with pytest.raises(ApplicationError) as failed:
        await attempt.call(worker(client, background=True), BODY)

    assert (failed.value.type, failed.value.non_retryable) == ("ResponseLost", True)


async def test_a_foreground_call_with_hosted_tools_is_never_sent_twice(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    attempt = Attempt(details={"sent": True}, attempt=2)

    with pytest.raises(ApplicationError) as refused:
        await attempt.call(worker(client), HOSTED_BODY)

    assert (refused.value.type, refused.value.non_retryable) == ("ModelCallInterrupted", True)
    assert server.received == []


async def test_a_foreground_call_that_provably_was_not_sent_may_be_sent_again(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(Reply(status=429, json=error_json("slow down"), headers={"retry-after": "2"}))
    first = Attempt()

    with pytest.raises(ApplicationError) as throttled:
        await first.call(worker(client), HOSTED_BODY)

    assert not throttled.value.non_retryable
    assert throttled.value.next_retry_delay == timedelta(seconds=2)
    assert first.beats[0] == ({"sent": True},) and first.last() == {"sent": False}
    server.script(Reply(json=response_json("Sent.")))
    answer = await Attempt(details=first.last(), attempt=2).call(worker(client), HOSTED_BODY)
    assert answer["output"][0]["content"][0]["text"] == "Sent."


@pytest.mark.parametrize(
    ("status", "body", "retryable"),
    [(500, BODY, True), (500, HOSTED_BODY, False), (400, BODY, False), (401, BODY, False)],
)
async def test_what_temporal_may_retry_after_a_foreground_failure(
    server: ScriptedServer,
    client: openai.AsyncOpenAI,
    status: int,
    body: dict[str, Any],
    retryable: bool,
) -> None:
    server.script(Reply(status=status, json=error_json("no", code="some_code")))

    with pytest.raises(ApplicationError) as failed:
        await Attempt().call(worker(client), body)

    assert failed.value.type == "APIStatusError"
    assert failed.value.non_retryable is not retryable
    assert failed.value.details[0]["status"] == status


async def test_hosted_tool_secrets_are_sent_from_the_worker_and_never_returned(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    mail = RemoteMCP(
        server_label="mail", server_url=MCP["server_url"], headers={"Authorization": TOKEN}
    )
    echoed = {**response_json("Done."), "tools": [{**MCP, "headers": {"Authorization": TOKEN}}]}
    server.script(Reply(json=echoed))

    answer = await Attempt().call(worker(client, tools=[mail]), {**BODY, "tools": [MCP]})

    [sent] = server.received
    assert sent.json()["tools"][0]["headers"] == {"Authorization": TOKEN}
    assert "tools" not in answer and TOKEN not in str(answer)


async def test_cancelling_the_activity_cancels_the_response_only_when_the_workflow_asks(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    for details, cancelled in (
        (ActivityCancellationDetails(cancel_requested=True), True),
        (ActivityCancellationDetails(worker_shutdown=True), False),
    ):
        events = background_events("slow")
        server.script(
            Reply(events=events, stall_after=3, stall=5), Reply(json=events[-1]["response"])
        )
        attempt = Attempt()
        task = asyncio.create_task(attempt.call(worker(client, background=Background()), BODY))
        async with asyncio.timeout(10):
            while not attempt.beats:  # noqa: ASYNC110 (the activity heartbeats when attached)
                await asyncio.sleep(0.01)
        attempt.environment.cancel(details)
        with pytest.raises(asyncio.CancelledError):
            await task
        paths = [(r.method, r.path) for r in server.received]
        assert (("POST", "/v1/responses/resp_bg/cancel") in paths) is cancelled


# --- failures, raised again in the workflow ---------------------------------------------------


def through_history(error: Exception) -> ActivityError:
    """`error` as the workflow receives it: converted to a failure and back, inside an
    ActivityError, as the worker and Temporal do."""
    converter = DataConverter.default
    failure = Failure()
    converter.failure_converter.to_failure(error, converter.payload_converter, failure)
    cause = converter.failure_converter.from_failure(failure, converter.payload_converter)
    outer = ActivityError("Activity task failed", scheduled_event_id=1, started_event_id=2,
                          identity="w", activity_type="agentkit.probe.model", activity_id="1",
                          retry_state=RetryState.NON_RETRYABLE_FAILURE)  # fmt: skip
    outer.__cause__ = cause
    return outer


def status_error(
    status: int, code: str | None, headers: dict[str, str] | None = None
) -> openai.APIStatusError:
    import httpx2

    request = httpx2.Request("POST", "https://example.invalid/v1/responses")
    response = httpx2.Response(status, headers=headers or {}, request=request)
    body = {
        "message": "lost",
        "type": "invalid_request_error",
        "param": "previous_response_id",
        "code": code,
    }
    kind = openai.BadRequestError if status == 400 else openai.InternalServerError
    return kind("lost", response=response, body=body)


def again(error: Exception, body: dict[str, Any] = BODY, *, attached: bool = False) -> Exception:
    failure = model_failure(error, body, attached=attached)
    assert isinstance(failure, ApplicationError)
    return raised_again(through_history(failure))


def test_a_lost_chain_comes_back_as_the_bad_request_the_recoverer_reads() -> None:
    rebuilt = again(status_error(400, "previous_response_not_found", {"x-request-id": "req_1"}))
    assert isinstance(rebuilt, openai.BadRequestError)
    assert (rebuilt.status_code, rebuilt.code, rebuilt.param) == (
        400,
        "previous_response_not_found",
        "previous_response_id",
    )
    assert rebuilt.request_id == "req_1"


def test_each_model_failure_kind_comes_back_as_itself() -> None:
    import httpx2

    request = httpx2.Request("POST", "https://example.invalid/v1/responses")
    refused = openai.APIConnectionError(request=request)
    refused.__cause__ = httpx2.ConnectError("refused")
    cases: list[Exception] = [
        StreamInterrupted("stalled", response_id="resp_1", last_sequence=7),
        StreamFailed("The model broke.", "server_error", "resp_1"),
        MalformedAnswer("a 200 that is not JSON"),
        ResponseLost("resp_9"),
        TimeoutError("the call took longer than its total deadline"),
        refused,
    ]
    for error in cases:
        rebuilt = again(error)
        assert type(rebuilt) is type(error) and str(rebuilt) == str(error)
        assert describe(rebuilt) == describe(error)
    assert not reached_the_model(again(refused))


def test_an_activity_failure_agentkit_did_not_describe_stays_an_activity_error() -> None:
    error = through_history(ApplicationError("the worker ran out of memory", type="MemoryError"))
    assert raised_again(error) is error
