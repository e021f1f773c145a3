"""For the two examples that start processes of their own (crash_resume.py, temporal_approval.py):
one local Responses API server they all share, when no endpoint is set. The other examples call
the public `agentkit.local_fallback()` instead (an embedded server per process).

agentkit finds its endpoint in the environment (AGENTKIT_BASE_URL, then AZURE_OPENAI_ENDPOINT,
then OPENAI_API_KEY). With none of them set, `local_server_if_needed()` starts agentkit's
local server on 127.0.0.1 for the block and points AGENTKIT_BASE_URL at it, so every example
runs offline, unchanged.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

ENDPOINT_VARIABLES = ("AGENTKIT_BASE_URL", "AZURE_OPENAI_ENDPOINT", "OPENAI_API_KEY")


@contextmanager
def local_server_if_needed() -> Iterator[None]:
    """Use the configured endpoint; with none, serve the Responses API locally for the block."""
    if any(os.environ.get(name) for name in ENDPOINT_VARIABLES):
        yield
        return
    from agentkit.server import LocalServer

    key = secrets.token_urlsafe(16)  # checked like Azure's api-key, so a missing key fails here
    with LocalServer(api_key=key) as server:
        print(f"(no endpoint configured: using agentkit's local server at {server.base_url})")
        os.environ.update(AGENTKIT_BASE_URL=server.base_url, AGENTKIT_API_KEY=key)
        try:
            yield
        finally:
            del os.environ["AGENTKIT_BASE_URL"], os.environ["AGENTKIT_API_KEY"]
