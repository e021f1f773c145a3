"""What the plugin's fixtures point agents at: a local server, a cassette's replay, or a
recording proxy, each with the request bodies it received and the tool outputs in them."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

from agentkit.local import server_missing
from agentkit.testing.cassette import Cassette, final_body

__all__ = ["Endpoint", "Live", "Requests", "ToolOutput", "tool_outputs"]

T = TypeVar("T")


@dataclass(frozen=True)
class ToolOutput:
    """A tool's output as the model saw it: the `output` of a `function_call_output` item."""

    call_id: str
    name: str | None
    output: Any


class Live(Sequence[T]):
    """A list read anew at each use: what an endpoint has seen so far, oldest first."""

    def __init__(self, read: Callable[[], list[T]]) -> None:
        self._read = read

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self._read()[index]

    def __len__(self) -> int:
        return len(self._read())

    def __iter__(self) -> Iterator[T]:
        return iter(self._read())

    def __eq__(self, other: object) -> bool:
        return self._read() == (list(other) if isinstance(other, Live) else other)

    def __repr__(self) -> str:
        return repr(self._read())

    @property
    def last(self) -> T:
        found = self._read()
        if not found:
            raise IndexError("nothing was sent yet")
        return found[-1]


Requests = Live[dict[str, Any]]
"""The `POST /responses` bodies an endpoint received."""


def tool_outputs(bodies: Sequence[dict[str, Any]]) -> list[ToolOutput]:
    """The tool outputs in request bodies, each named by the call it answers when a request
    shows that call (by-value chaining); with `previous_response_id` the name comes from the
    output items the server sent, which `names` fills in."""
    names: dict[str, str] = {}
    found: list[ToolOutput] = []
    for body in bodies:
        items = body.get("input")
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "function_call":
                names[str(item.get("call_id"))] = str(item.get("name"))
            elif item.get("type") == "function_call_output":
                call_id = str(item.get("call_id"))
                found.append(ToolOutput(call_id, names.get(call_id), item.get("output")))
    return found


class Endpoint:
    """A Responses endpoint in this process that the test's agents use."""

    base_url: str
    api_key: str
    requests: Requests

    def tool_outputs(self) -> list[ToolOutput]:
        outputs = tool_outputs(self.requests)
        names = self.call_names()
        return [ToolOutput(o.call_id, o.name or names.get(o.call_id), o.output) for o in outputs]

    def call_names(self) -> dict[str, str]:
        """Function call ids → tool names, from the answers this endpoint gave."""
        return {}

    def environment(self) -> dict[str, str]:
        """The variables that point agents configured from the environment here."""
        return {"AGENTKIT_BASE_URL": self.base_url, "AGENTKIT_API_KEY": self.api_key}

    def close(self) -> None:
        raise NotImplementedError


class ServerEndpoint(Endpoint):
    """A `LocalServer` with its own database in `folder`."""

    def __init__(self, folder: Path, engine: str, options: dict[str, Any]) -> None:
        try:
            from agentkit.server import LocalServer
        except ImportError as error:
            raise RuntimeError(server_missing("agentkit's test fixtures", error)) from None
        self.api_key = secrets.token_urlsafe(12)
        db = str(folder / "agentkit.db")
        self.server = LocalServer(db=db, engine=engine, api_key=self.api_key, **options).start()
        self.base_url = self.server.base_url
        self.requests = Requests(lambda: self.server.requests)

    def call_names(self) -> dict[str, str]:
        store = self.server.state.store
        names: dict[str, str] = {}
        for body in self.server.requests:
            previous = body.get("previous_response_id")
            for item in (store.context(previous) or []) if isinstance(previous, str) else []:
                if item.get("type") == "function_call":
                    names[str(item["call_id"])] = str(item["name"])
        return names

    def close(self) -> None:
        self.server.stop()


class ReplayEndpoint(Endpoint):
    """A cassette played back by a replay server in a thread."""

    def __init__(self, path: Path) -> None:
        from agentkit.server.http.thread import ServerThread
        from agentkit.testing.replay import Replayer, replay_app

        self.replayer = Replayer.open(path)
        self.thread = ServerThread(replay_app(self.replayer), lifespan="off").start()
        self.base_url = self.thread.url + "/v1"
        self.api_key = "replay"
        self.requests = Requests(lambda: list(self.replayer.requests))

    def call_names(self) -> dict[str, str]:
        return names_in_answers(self.replayer.cassette)

    def close(self) -> None:
        self.thread.stop()
        self.replayer.close()


class RecordEndpoint(Endpoint):
    """A recording proxy to the endpoint the environment names; saved to `path` at the end."""

    def __init__(self, path: Path) -> None:
        from agentkit.model import resolve_client
        from agentkit.server.http.thread import ServerThread
        from agentkit.testing.record import Recorder, recording_app

        self.path = path
        self.recorder = Recorder(resolve_client())
        self.thread = ServerThread(recording_app(self.recorder)).start()
        self.base_url = self.thread.url + "/v1"
        self.api_key = "recording"
        self.requests = Requests(self._bodies)

    def call_names(self) -> dict[str, str]:
        return names_in_answers(self.recorder.cassette)

    def _bodies(self) -> list[dict[str, Any]]:
        return [
            e.body
            for e in self.recorder.cassette.exchanges
            if e.method == "POST" and e.path == "/responses" and isinstance(e.body, dict)
        ]

    def close(self) -> None:
        self.thread.stop()
        self.recorder.save(self.path)


def names_in_answers(cassette: Cassette) -> dict[str, str]:
    """Function call ids → tool names, from the response bodies (or streams) of a cassette."""
    names: dict[str, str] = {}
    for exchange in list(cassette.exchanges):
        found = final_body(exchange)
        for item in found.get("output") or [] if isinstance(found, dict) else []:
            if isinstance(item, dict) and item.get("type") == "function_call":
                names[str(item["call_id"])] = str(item["name"])
    return names


ENDPOINT_VARIABLES = (
    "AGENTKIT_BASE_URL",
    "AGENTKIT_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_API_VERSION",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
)


def pointed_at(endpoint: Endpoint) -> dict[str, str | None]:
    """The environment changes that send every agent configured from it to `endpoint`."""
    changes: dict[str, str | None] = dict.fromkeys(ENDPOINT_VARIABLES)
    changes.update(endpoint.environment())
    return changes


def current(names: Sequence[str]) -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in names}
