"""The retry matrix, over real HTTP: what is retried, how long we wait, what never is."""

from __future__ import annotations

import logging
import socket
import time
from email.utils import formatdate
from typing import Any

import httpx2
import openai
import pytest

from agentkit.model import RetryPolicy, create_response, is_retryable, retry_after, with_retries

from ._scripted import Reply, ScriptedServer, error_json, response_json

BODY: dict[str, Any] = {"model": "gpt-test", "input": "Hi"}
FAST = RetryPolicy(max_attempts=4, initial_backoff=0.01, max_backoff=0.5, jitter=0)


def status_error(status: int, headers: dict[str, str] | None = None, body: Any = None) -> Any:
    """An SDK status error as the client raises it, without I/O."""
    request = httpx2.Request("POST", "http://127.0.0.1/v1/responses")
    response = httpx2.Response(status, headers=headers or {}, request=request)
    return openai.APIStatusError("error", response=response, body=body)


async def test_rate_limit_is_retried_until_success(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    busy = Reply(status=429, json=error_json("slow down", code="rate_limit_exceeded"))
    server.script(busy, busy, Reply(json=response_json("third time")))

    response = await create_response(client, BODY, retry=FAST)

    assert response.output_text == "third time"
    assert len(server.received) == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_transient_server_errors_are_retried(
    server: ScriptedServer, client: openai.AsyncOpenAI, status: int
) -> None:
    server.script(Reply(status=status, json=error_json("oops")), Reply(json=response_json()))

    assert (await create_response(client, BODY, retry=FAST)).output_text == "Hello"
    assert len(server.received) == 2


async def test_attempts_stop_at_max_attempts(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(*[Reply(status=503, json=error_json("down"))] * 5)

    with pytest.raises(openai.InternalServerError):
        await create_response(client, BODY, retry=FAST)

    assert len(server.received) == 4


async def test_retry_after_ms_is_honoured(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(
        Reply(status=429, json=error_json("wait"), headers={"retry-after-ms": "150"}),
        Reply(json=response_json()),
    )

    await create_response(client, BODY, retry=FAST)

    [gap] = server.gaps()
    assert 0.15 <= gap < 1


async def test_retry_after_ms_wins_over_retry_after(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    headers = {"retry-after-ms": "50", "retry-after": "20"}
    server.script(
        Reply(status=429, json=error_json("wait"), headers=headers), Reply(json=response_json())
    )
    policy = RetryPolicy(max_attempts=2, initial_backoff=0, max_backoff=5, jitter=0)

    await create_response(client, BODY, retry=policy)

    [gap] = server.gaps()
    assert 0.05 <= gap < 1


async def test_retry_after_seconds_is_honoured(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(
        Reply(status=503, json=error_json("wait"), headers={"retry-after": "0.2"}),
        Reply(json=response_json()),
    )

    await create_response(client, BODY, retry=FAST)

    [gap] = server.gaps()
    assert 0.2 <= gap < 1


async def test_server_delay_is_capped_by_max_backoff(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(
        Reply(status=429, json=error_json("wait"), headers={"retry-after": "30"}),
        Reply(json=response_json()),
    )
    policy = RetryPolicy(max_attempts=2, initial_backoff=0, max_backoff=0.1, jitter=0)

    await create_response(client, BODY, retry=policy)

    [gap] = server.gaps()
    assert 0.1 <= gap < 1


async def test_backoff_doubles_without_a_server_delay(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    server.script(*[Reply(status=500, json=error_json("oops"))] * 2, Reply(json=response_json()))
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.1, max_backoff=1, jitter=0)

    await create_response(client, BODY, retry=policy)

    first, second = server.gaps()
    assert 0.1 <= first < 0.2
    assert 0.2 <= second < 1


async def test_insufficient_quota_is_never_retried(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    quota = error_json(
        "You exceeded your current quota", code="insufficient_quota", type_="insufficient_quota"
    )
    server.script(Reply(status=429, json=quota), Reply(json=response_json()))

    with pytest.raises(openai.RateLimitError) as caught:
        await create_response(client, BODY, retry=FAST)

    assert caught.value.code == "insufficient_quota"
    assert len(server.received) == 1


async def test_content_filter_is_never_retried(
    server: ScriptedServer, client: openai.AsyncOpenAI
) -> None:
    refusal = error_json("The response was filtered", code="content_filter")
    server.script(Reply(status=400, json=refusal), Reply(json=response_json()))

    with pytest.raises(openai.BadRequestError) as caught:
        await create_response(client, BODY, retry=FAST)

    assert caught.value.code == "content_filter"
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (403, openai.PermissionDeniedError),
        (404, openai.NotFoundError),
        (409, openai.ConflictError),
        (422, openai.UnprocessableEntityError),
    ],
)
async def test_other_client_errors_are_never_retried(
    server: ScriptedServer,
    client: openai.AsyncOpenAI,
    status: int,
    error_type: type[openai.APIStatusError],
) -> None:
    server.script(Reply(status=status, json=error_json("no")), Reply(json=response_json()))

    with pytest.raises(error_type):
        await create_response(client, BODY, retry=FAST)

    assert len(server.received) == 1


async def test_timeouts_are_retried(server: ScriptedServer, client: openai.AsyncOpenAI) -> None:
    slow = Reply(json=response_json("late"), delay=0.5)
    server.script(slow, slow, Reply(json=response_json("in time")))

    response = await create_response(client, BODY, timeout=0.1, retry=FAST)

    assert response.output_text == "in time"
    assert len(server.received) == 3


async def test_connection_errors_are_retried(clean_env: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    attempts = 0

    async def call() -> object:
        nonlocal attempts
        attempts += 1
        return await create_response(client, BODY)

    async with openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k") as client:
        with pytest.raises(openai.APIConnectionError):
            await with_retries(call, RetryPolicy(max_attempts=3, initial_backoff=0, jitter=0))

    assert attempts == 3


async def test_sdk_retries_are_off(server: ScriptedServer, client: openai.AsyncOpenAI) -> None:
    """The client would retry 3 times itself; only agentkit's attempts reach the server."""
    assert client.max_retries == 3
    server.script(*[Reply(status=503, json=error_json("down"))] * 10)

    with pytest.raises(openai.InternalServerError):
        await create_response(client, BODY)
    assert len(server.received) == 1

    server.script(*[Reply(status=503, json=error_json("down"))] * 10)
    with pytest.raises(openai.InternalServerError):
        await create_response(client, BODY, retry=RetryPolicy(max_attempts=2, initial_backoff=0))
    assert len(server.received) == 2


async def test_non_api_errors_are_not_retried() -> None:
    calls = 0

    async def call() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("a bug, not a transient failure")

    with pytest.raises(ValueError, match="a bug"):
        await with_retries(call, FAST)

    assert calls == 1


async def test_each_retry_is_logged_without_secrets(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture, clean_env: pytest.MonkeyPatch
) -> None:
    secret = "sk-very-secret-123"
    busy = Reply(
        status=429,
        json=error_json("slow down", code="rate_limit_exceeded"),
        headers={"retry-after-ms": "10", "x-request-id": "req_42"},
    )
    server.script(busy, busy, Reply(json=response_json()))
    caplog.set_level(logging.DEBUG)

    async with openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key=secret) as client:
        await create_response(client, BODY, retry=FAST)

    ours = [r for r in caplog.records if r.name == "agentkit.model"]
    assert [r.levelno for r in ours] == [logging.WARNING, logging.WARNING]
    assert ours[0].getMessage() == (
        "model call failed (RateLimitError HTTP 429 code=rate_limit_exceeded request_id=req_42);"
        " retrying in 0.01s (attempt 2 of 4)"
    )
    assert secret not in caplog.text


def test_retry_after_parses_http_dates() -> None:
    in_ten_seconds = formatdate(timeval=time.time() + 10, usegmt=True)

    delay = retry_after(status_error(429, {"retry-after": in_ten_seconds}))

    assert delay is not None and 8.5 < delay <= 10


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"retry-after-ms": "-5", "retry-after": "2"}, 2.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after-ms": "nan"}, None),
        ({}, None),
    ],
)
def test_retry_after_values(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(status_error(429, headers)) == expected


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (429, {"code": "rate_limit_exceeded"}, True),
        (429, {"code": "insufficient_quota"}, False),
        (429, {"type": "insufficient_quota", "code": None}, False),
        (500, {"code": "content_filter"}, False),
        (500, None, True),
        (501, None, False),
        (408, None, False),
        (400, None, False),
    ],
)
def test_is_retryable_by_status_and_code(status: int, body: Any, expected: bool) -> None:
    assert is_retryable(status_error(status, body=body)) is expected


def test_connection_errors_and_timeouts_are_retryable() -> None:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/responses")

    assert is_retryable(openai.APIConnectionError(request=request))
    assert is_retryable(openai.APITimeoutError(request=request))
    assert not is_retryable(RuntimeError("boom"))


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(jitter=-1)
