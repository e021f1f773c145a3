"""Retries around model calls: the one retry layer in agentkit (clients have the SDK's retries off).

Retried: HTTP 429, 500, 502, 503, 504 and connection errors and timeouts. Never retried:
`insufficient_quota` (a 429 that waiting does not fix), content-filter refusals, and every
other 4xx. A model call whose request may have reached the model (everything but a refused
connection and a 429) is only resent when resending is safe; the caller says when
(`retry_events(..., retryable=...)`, see `agentkit.model.call`). The server's `retry-after-ms`, then `Retry-After` (seconds or an HTTP date),
sets the delay when present, capped at `RetryPolicy.max_backoff`; otherwise the delay grows
exponentially with jitter.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx2
import openai
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
)

__all__ = [
    "NEVER_RETRIED_CODES",
    "RETRIED_STATUSES",
    "RetryPolicy",
    "backoff",
    "is_retryable",
    "reached_the_model",
    "retry_after",
    "retry_events",
    "with_retries",
]

logger = logging.getLogger("agentkit.model")

T = TypeVar("T")

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
"""HTTP statuses worth another attempt: throttling and transient server trouble."""

NEVER_RETRIED_CODES = frozenset({"insufficient_quota", "content_filter"})
"""Error codes that another attempt cannot fix, whatever their status."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How often and how patiently to retry a model call.

    Args:
        max_attempts: Total attempts, the first included (1 disables retries).
        initial_backoff: Seconds before the first retry; doubles with each attempt.
        max_backoff: Cap in seconds on any delay, including one the server asks for.
        jitter: Up to this many random seconds added to each computed backoff.
    """

    max_attempts: int = 4
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.initial_backoff, self.max_backoff, self.jitter) < 0:
            raise ValueError("backoff and jitter must not be negative")


async def with_retries(call: Callable[[], Awaitable[T]], policy: RetryPolicy | None = None) -> T:
    """Await `call()`, calling it again after a retryable failure, as `policy` allows.

    The first attempt runs bare: tenacity's machinery (~60 µs) is only set up after a failure,
    which it then sees as its own first attempt, so waits and logs are the same either way.
    """
    policy = policy or RetryPolicy()
    try:
        return await call()
    except Exception as error:
        if policy.max_attempts == 1 or not is_retryable(error):
            raise
        first_failure = error
    replayed = False

    async def attempt() -> T:
        nonlocal replayed
        if not replayed:
            replayed = True
            raise first_failure
        return await call()

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=_wait(policy),
        retry=retry_if_exception(is_retryable),
        before_sleep=_log_retry(policy),
        reraise=True,
    )
    return await retrying(attempt)


async def retry_events(
    attempt: Callable[[], AsyncIterator[T]],
    policy: RetryPolicy,
    retryable: Callable[[BaseException], bool],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[T]:
    """Yield what `attempt()` yields; after a failure `retryable` accepts, start it again.

    For calls that stream: a retried attempt starts over, so whatever the failed one yielded
    comes again. Waits and logs as `with_retries` does; `sleep` is injectable for tests.
    """
    for number in range(1, policy.max_attempts + 1):
        try:
            async for value in attempt():
                yield value
            return
        except Exception as error:
            if number == policy.max_attempts or not retryable(error):
                raise
            asked = retry_after(error)
            delay = min(asked if asked is not None else backoff(policy, number), policy.max_backoff)
            logger.warning(
                "model call failed (%s); retrying in %.2fs (attempt %d of %d)",
                _describe(error),
                delay,
                number + 1,
                policy.max_attempts,
            )
        await sleep(delay)


def reached_the_model(error: BaseException) -> bool:
    """Whether the request may have reached the model: False only when it provably did not
    (the connection was refused or never opened, or the service throttled it with a 429)."""
    if isinstance(error, openai.APIConnectionError):
        return not isinstance(error.__cause__, _NOT_SENT)
    if isinstance(error, openai.APIStatusError):
        return error.status_code != 429
    return True


_NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)


def is_retryable(error: BaseException) -> bool:
    """Whether another attempt may succeed where this one failed with `error`."""
    if isinstance(error, openai.APIConnectionError):
        return True
    if isinstance(error, openai.APIStatusError):
        return error.status_code in RETRIED_STATUSES and not _is_permanent(error)
    return False


def retry_after(error: BaseException) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms`, then `Retry-After`), if it did."""
    if not isinstance(error, openai.APIStatusError):
        return None
    headers = error.response.headers
    millis = _non_negative(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    value = headers.get("retry-after")
    seconds = _non_negative(value)
    return seconds if seconds is not None else _seconds_until(value)


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    """The delay before the next attempt: the server's, capped, else exponential backoff with jitter."""

    def wait(state: RetryCallState) -> float:
        asked = retry_after(_failure(state))
        delay = asked if asked is not None else backoff(policy, state.attempt_number)
        return min(delay, policy.max_backoff)

    return wait


def backoff(policy: RetryPolicy, attempt: int) -> float:
    """The wait after failed attempt number `attempt`: `initial_backoff` doubled per failed
    attempt, plus up to `jitter` random seconds, capped at `max_backoff`."""
    delay = policy.initial_backoff * 2.0 ** min(attempt - 1, 32) + random.uniform(0, policy.jitter)
    return min(delay, policy.max_backoff)


def _log_retry(policy: RetryPolicy) -> Callable[[RetryCallState], None]:
    """A tenacity hook logging each retry at WARNING: what failed, never the request or its keys."""

    def log(state: RetryCallState) -> None:
        delay = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "model call failed (%s); retrying in %.2fs (attempt %d of %d)",
            _describe(_failure(state)),
            delay,
            state.attempt_number + 1,
            policy.max_attempts,
        )

    return log


def _failure(state: RetryCallState) -> BaseException:
    """The exception that ended the attempt (tenacity only waits and logs after a failure)."""
    error = state.outcome.exception() if state.outcome else None
    if error is None:
        raise RuntimeError("retry hook called without a failed attempt")
    return error


def _describe(error: BaseException) -> str:
    """A secret-free summary: exception type, HTTP status, error code and request id."""
    parts = [type(error).__name__]
    if isinstance(error, openai.APIStatusError):
        parts.append(f"HTTP {error.status_code}")
        if error.code:
            parts.append(f"code={error.code}")
        if error.request_id:
            parts.append(f"request_id={error.request_id}")
    return " ".join(parts)


def _is_permanent(error: openai.APIStatusError) -> bool:
    """Whether the error's `code` or `type` says waiting will not help (OpenAI sets both)."""
    return error.code in NEVER_RETRIED_CODES or error.type in NEVER_RETRIED_CODES


def _non_negative(value: str | None) -> float | None:
    """`value` as a non-negative number of units, or None if it is not one."""
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and number >= 0 and number != float("inf") else None


def _seconds_until(value: str | None) -> float | None:
    """Seconds from now until an HTTP date (0 if past), or None if `value` is not one."""
    if value is None:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
