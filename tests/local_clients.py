"""Real `openai` clients for the local test servers, and tool definitions several suites send."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import openai

from agentkit.server import LocalServer

TLS = ssl.create_default_context()
"""Building a client's default TLS context costs ~0.1 s; the loopback clients share this one."""


def local_client(server: LocalServer, api_key: str = "k") -> openai.AsyncOpenAI:
    """A real `openai` client on `server` (close it: `async with`)."""
    http = openai.DefaultAsyncHttpxClient(verify=TLS)
    return openai.AsyncOpenAI(base_url=server.base_url, api_key=api_key, http_client=http)


def city_tool(name: str, description: str) -> dict[str, Any]:
    """A strict function tool taking one `city` string."""
    return {
        "type": "function",
        "name": name,
        "description": description,
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    }


WEATHER = city_tool("get_weather", "Get the weather for a city.")
TIME = city_tool("get_time", "Get the local time in a city.")


def sample_client(kind: str, server: LocalServer, api_key: str) -> openai.OpenAI:
    """The client of the how-to page's samples: Azure's on `/openai/v1/`, or the plain one."""
    if kind == "AzureOpenAI":
        return openai.AzureOpenAI(
            base_url=server.url + "/openai/v1/", api_key=api_key, api_version="preview"
        )
    return openai.OpenAI(base_url=server.base_url, api_key=api_key)


@contextlib.contextmanager
def client_maker(
    kind: str, server: LocalServer, api_key: str
) -> Iterator[Callable[[], openai.OpenAI]]:
    """Makes sample clients (`sample_client`) on demand, and closes them all at the end."""
    made: list[openai.OpenAI] = []

    def make() -> openai.OpenAI:
        made.append(sample_client(kind, server, api_key))
        return made[-1]

    yield make
    for client in made:
        client.close()
