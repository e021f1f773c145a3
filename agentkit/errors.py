"""The exceptions agentkit raises to its users, one hierarchy under `AgentkitError`."""

from __future__ import annotations

from typing import Any


class AgentkitError(Exception):
    """Base class of every exception agentkit raises on purpose."""


class ConfigurationError(AgentkitError):
    """agentkit was set up in a way it cannot work with (missing credentials, bad options)."""


class ConfigurationWarning(UserWarning):
    """agentkit's setup works, but probably not as meant (e.g. one setting hides another)."""


class UserError(AgentkitError):
    """The library was used incorrectly (e.g. `run_sync` inside a running event loop)."""


class ToolError(AgentkitError):
    """A tool failed and was configured to raise instead of reporting the error to the model."""

    def __init__(self, message: str, *, tool_name: str, call_id: str | None = None) -> None:
        super().__init__(message)
        self.tool_name = tool_name
        self.call_id = call_id
        self.state: Any = None
        """The run's state when a run stopped on this error (set by the agent loop)."""


class ToolDefinitionError(UserError):
    """A function cannot become a tool: bad name, unsupported signature, or a schema strict mode can't express."""


class RunError(AgentkitError):
    """A run stopped; `state` holds everything needed to inspect or resume it."""

    def __init__(self, message: str, *, state: Any) -> None:
        super().__init__(message)
        self.state = state


class MaxTurnsExceeded(RunError):
    """The run used its `max_turns` model calls without reaching a final answer."""


class OutputValidationError(RunError):
    """The model's final answer did not match `output_type`, after every allowed retry."""


class ModelCallError(RunError):
    """The model call failed for good (after retries): auth, quota, bad request, outage."""

    def __init__(
        self, message: str, *, state: Any, status_code: int | None, code: str | None
    ) -> None:
        super().__init__(message, state=state)
        self.status_code = status_code
        self.code = code


class MalformedResponseError(ModelCallError):
    """The endpoint answered with something that is not a Responses API answer (a truncated
    body, a gateway's HTML page, a stream without its end), and resending was not safe."""


class ModelCallInterrupted(ModelCallError):
    """The model call broke off after its request may have reached the model, and it carries
    hosted tools with side effects, so it was not sent again: resume `state` to resend it."""


class RunCancelled(RunError):
    """The run was cancelled (its handle's `cancel()`, or its background response was
    cancelled on the service); `state` resumes it."""


class RunClaimed(AgentkitError):
    """Another process is running this checkpointed run now (it holds the run's claim)."""


class RunPaused(UserError):
    """A paused run's result was asked for its output: approve or reject its requests first."""


class ResumeError(UserError):
    """A `RunState` cannot be resumed: not paused, already resumed, or the tools changed."""


class ContainerExpired(RunError):
    """The conversation's code interpreter container expired, and the tool says to raise."""

    def __init__(self, message: str, *, state: Any, container_id: str) -> None:
        super().__init__(message, state=state)
        self.container_id = container_id


class GuardrailTripped(RunError):
    """A guardrail stopped the run (see `guardrail`, `kind`, `message`; `state` resumes it)."""

    def __init__(
        self, message: str, *, state: Any, guardrail: str, kind: str, info: Any = None
    ) -> None:
        super().__init__(message, state=state)
        self.guardrail = guardrail
        self.kind = kind
        self.info = info
        """What the guardrail returned with its verdict (`tripped(..., info=...)`)."""
