"""The exceptions agentkit raises to its users, one hierarchy under `AgentkitError`."""

from __future__ import annotations


class AgentkitError(Exception):
    """Base class of every exception agentkit raises on purpose."""


class ConfigurationError(AgentkitError):
    """agentkit was set up in a way it cannot work with (missing credentials, bad options)."""


class UserError(AgentkitError):
    """The library was used incorrectly (e.g. `run_sync` inside a running event loop)."""


class ToolError(AgentkitError):
    """A tool failed and was configured to raise instead of reporting the error to the model."""

    def __init__(self, message: str, *, tool_name: str, call_id: str | None = None) -> None:
        super().__init__(message)
        self.tool_name = tool_name
        self.call_id = call_id
