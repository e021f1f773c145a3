"""Model and tool failures across the activity boundary: raised as `ApplicationError`s in the
worker, raised again as the same exceptions in the workflow.

The activity decides what Temporal may retry (agentkit's own retries are off in activities):
a call that provably never reached the model, or one that is safe to send again, or a
background response to reattach to. Everything else fails the activity at once, and the
workflow's agent loop then handles the rebuilt exception exactly as `Agent.run` would: the
recoverers (lost chain, expired container, lost background response) send again; the rest
become a typed `RunError` carrying the run's state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx2
import openai
from temporalio.exceptions import ActivityError, ApplicationError

from agentkit.errors import ToolError
from agentkit.model import wire
from agentkit.model.call import ResponseLost, may_resend
from agentkit.model.retry import is_retryable, reached_the_model, retry_after

Details = dict[str, Any]

_STATUS_ERRORS: dict[int, type[openai.APIStatusError]] = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    409: openai.ConflictError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
}
_KEPT_HEADERS = ("retry-after", "retry-after-ms", "x-request-id", "x-should-retry")
_NOWHERE = httpx2.Request("POST", "https://agentkit.invalid/v1/responses")
"""The request a rebuilt error names: the real one stays in the worker (it carries the key)."""


# --- in the worker -----------------------------------------------------------------------------


def model_failure(error: Exception, body: dict[str, Any], *, attached: bool) -> Exception:
    """The `ApplicationError` a failed model call raises, or `error` itself if it is not one
    agentkit knows (Temporal retries those as it does any activity failure)."""
    described = describe(error)
    if described is None:
        return error
    if attached:  # the response has an id: anything passing is mended by reattaching to it
        retryable = not isinstance(error, ResponseLost) and _passing(error)
    else:
        retryable = may_resend(body)(error)
    return _application_error(error, described, retryable=retryable)


def interrupted(message: str) -> ApplicationError:
    """A foreground call that an earlier attempt may have sent, with hosted tools: not resent."""
    return ApplicationError(message, {}, type="ModelCallInterrupted", non_retryable=True)


def tool_failure(error: ToolError) -> ApplicationError:
    details = {"tool_name": error.tool_name, "call_id": error.call_id}
    return ApplicationError(str(error), details, type="ToolError", non_retryable=True)


def _passing(error: Exception) -> bool:
    if isinstance(error, wire.StreamInterrupted | wire.MalformedAnswer | TimeoutError):
        return True
    return is_retryable(error)


def _application_error(error: Exception, details: Details, *, retryable: bool) -> ApplicationError:
    delay = retry_after(error)
    return ApplicationError(
        str(error) or type(error).__name__,
        details,
        type=type(error).__name__
        if not isinstance(error, openai.APIStatusError)
        else "APIStatusError",
        non_retryable=not retryable,
        next_retry_delay=None if delay is None else timedelta(seconds=delay),
    )


def describe(error: Exception) -> Details | None:
    """What rebuilds `error` in the workflow (no request, no headers but retry hints)."""
    if isinstance(error, openai.APIStatusError):
        headers = {
            k: error.response.headers[k] for k in _KEPT_HEADERS if k in error.response.headers
        }
        body = error.body if isinstance(error.body, dict) else None
        return {
            "status": error.status_code,
            "message": error.message,
            "body": body,
            "headers": headers,
        }
    if isinstance(error, openai.APIConnectionError):
        return {"message": error.message, "sent": reached_the_model(error)}
    if isinstance(error, wire.StreamInterrupted):
        return {
            "reason": error.reason,
            "response_id": error.response_id,
            "last": error.last_sequence,
        }
    if isinstance(error, wire.StreamFailed):
        return {"message": error.message, "code": error.code, "response_id": error.response_id}
    if isinstance(error, wire.MalformedAnswer | TimeoutError):
        return {"message": str(error)}
    if isinstance(error, ResponseLost):
        return {"response_id": error.response_id}
    return None


# --- in the workflow ---------------------------------------------------------------------------


def raised_again(error: ActivityError) -> Exception:
    """The exception the activity failed with, as it was raised there (or `error` when the
    failure is not one agentkit describes, e.g. an activity that timed out for good)."""
    cause = error.cause
    if not isinstance(cause, ApplicationError) or not cause.details:
        return error
    details = cause.details[0]
    build = _REBUILD.get(cause.type or "")
    if build is None or not isinstance(details, dict):
        return error
    return build(cause.message, details)


def _status_error(message: str, details: Details) -> Exception:
    status = int(details["status"])
    response = httpx2.Response(status, headers=details.get("headers") or {}, request=_NOWHERE)
    kind = _STATUS_ERRORS.get(
        status, openai.InternalServerError if status >= 500 else openai.APIStatusError
    )
    return kind(str(details.get("message", message)), response=response, body=details.get("body"))


def _connection_error(message: str, details: Details) -> Exception:
    if message == "Request timed out.":
        error: openai.APIConnectionError = openai.APITimeoutError(_NOWHERE)
    else:
        error = openai.APIConnectionError(
            message=str(details.get("message", message)), request=_NOWHERE
        )
    if not details.get("sent", True):  # what `reached_the_model` reads
        error.__cause__ = httpx2.ConnectError("the connection was not opened")
    return error


_REBUILD: dict[str, Callable[[str, Details], Exception]] = {
    "APIStatusError": _status_error,
    "APIConnectionError": _connection_error,
    "APITimeoutError": _connection_error,
    "StreamInterrupted": lambda m, d: wire.StreamInterrupted(
        str(d["reason"]), response_id=d.get("response_id"), last_sequence=d.get("last")
    ),
    "StreamFailed": lambda m, d: wire.StreamFailed(
        str(d.get("message", m)), d.get("code"), d.get("response_id")
    ),
    "MalformedAnswer": lambda m, d: wire.MalformedAnswer(str(d.get("message", m))),
    "TimeoutError": lambda m, d: TimeoutError(str(d.get("message", m))),
    "ResponseLost": lambda m, d: ResponseLost(str(d["response_id"])),
    # reads as a connection cut off after sending: `run_error` makes it ModelCallInterrupted
    "ModelCallInterrupted": lambda m, d: ConnectionError(m),
}


def tool_error(error: ActivityError, tool: str, call_id: str) -> ToolError:
    """The `ToolError` a failed tool activity becomes in the workflow (the run then stops
    `failed`, resumable, as when a tool raises with `raise_errors`)."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type == "ToolError":
        return ToolError(cause.message, tool_name=tool, call_id=call_id)
    reason = str(cause) if cause is not None else str(error)
    return ToolError(
        f"The tool activity of {tool} failed: {reason}", tool_name=tool, call_id=call_id
    )
