"""What users import in their own tests: a pytest plugin (registered as `agentkit`, see
`agentkit.testing.plugin` for its fixtures), a client for scripted servers, and cassettes.

Importing this needs no server dependency; the fixtures that run a server say which extra
to install (`agentkit-responses[server]`) when it is missing.
"""

from __future__ import annotations

from agentkit.testing.cassette import Cassette, Exchange
from agentkit.testing.endpoints import Endpoint, Live, Requests, ToolOutput, tool_outputs
from agentkit.testing.scripted import ScriptedClient, call, fail, say, think

__all__ = [
    "Cassette",
    "Endpoint",
    "Exchange",
    "Live",
    "Requests",
    "ScriptedClient",
    "ToolOutput",
    "call",
    "fail",
    "say",
    "think",
    "tool_outputs",
]
