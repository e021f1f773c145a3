"""The embedded local server: `AGENTKIT_BASE_URL=local`, or `local_fallback()` in a script,
runs agents on agentkit's own Responses server in this process, offline and with no account."""

from __future__ import annotations

import atexit
import os
import secrets
import threading
from typing import Any

from agentkit.errors import ConfigurationError

__all__ = ["ENDPOINT_VARIABLES", "LOCAL", "local_endpoint", "local_fallback", "server_missing"]

LOCAL = "local"
"""The `AGENTKIT_BASE_URL` value that means "the embedded local server"."""

ENDPOINT_VARIABLES = ("AGENTKIT_BASE_URL", "AZURE_OPENAI_ENDPOINT", "OPENAI_API_KEY")
"""Any of these set means an endpoint is configured (see `agentkit.model.resolve_client`)."""

_lock = threading.Lock()
_running: tuple[Any, str] | None = None


def local_fallback() -> bool:
    """Run agents on the embedded local server unless an endpoint is configured; whether it did.

    Sets `AGENTKIT_BASE_URL=local` when none of `AGENTKIT_BASE_URL`, `AZURE_OPENAI_ENDPOINT`
    and `OPENAI_API_KEY` is set, so a script runs offline as it is and against a real
    deployment once one is configured.
    """
    if any(os.environ.get(name) for name in ENDPOINT_VARIABLES):
        return False
    os.environ["AGENTKIT_BASE_URL"] = LOCAL
    return True


def local_endpoint() -> tuple[str, str]:
    """The embedded server's base URL and API key, starting it the first time it is asked for.

    One server per process, on a free loopback port, with an in-memory database and the
    `auto` engine; it stops when the process exits.
    """
    global _running
    with _lock:
        if _running is None:
            _running = _start()
        server, key = _running
        return server.base_url, key


def _start() -> tuple[Any, str]:
    try:
        from agentkit.server import LocalServer
    except ImportError as error:
        raise ConfigurationError(server_missing("AGENTKIT_BASE_URL=local", error)) from None
    key = secrets.token_urlsafe(16)  # checked like Azure's api-key, so a lost key fails here too
    server = LocalServer(api_key=key).start()
    atexit.register(server.stop)
    return server, key


def server_missing(what: str, error: ImportError) -> str:
    """The message for a feature that needs the local server's optional dependencies."""
    return (
        f"{what} needs agentkit's local server, whose dependencies are not installed "
        f"({error.name or error}): pip install 'agentkit-responses[server]'"
    )
