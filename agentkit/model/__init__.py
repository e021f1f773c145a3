"""Talking to the Responses endpoint: the client, the fast request path, retries and usage."""

from __future__ import annotations

from agentkit.model.call import Attachment, Background, CallSettings, Finished, respond
from agentkit.model.client import (
    ENTRA_SCOPE,
    azure_v1_base_url,
    entra_token_provider,
    resolve_client,
)
from agentkit.model.retry import RetryPolicy, is_retryable, retry_after, with_retries
from agentkit.model.timeouts import Timeouts
from agentkit.model.transport import create_response, open_stream, stream_response
from agentkit.model.usage import Usage

__all__ = [
    "ENTRA_SCOPE",
    "Attachment",
    "Background",
    "CallSettings",
    "Finished",
    "RetryPolicy",
    "Timeouts",
    "Usage",
    "azure_v1_base_url",
    "create_response",
    "entra_token_provider",
    "is_retryable",
    "open_stream",
    "resolve_client",
    "respond",
    "retry_after",
    "stream_response",
    "with_retries",
]
