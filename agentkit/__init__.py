"""agentkit: agents on the Azure OpenAI / OpenAI Responses API."""

from __future__ import annotations

from agentkit.errors import AgentkitError, ConfigurationError, ToolError, UserError

__all__ = [
    "AgentkitError",
    "ConfigurationError",
    "ToolError",
    "UserError",
]

__version__ = "0.1.0"
