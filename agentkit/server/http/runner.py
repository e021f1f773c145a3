"""Run the server on a free loopback port in a background thread (tests, the demo, notebooks)."""

from __future__ import annotations

import ipaddress
from types import TracebackType
from typing import Any

from agentkit.server.engines import ScriptedEngine
from agentkit.server.http.app import ServerConfig, ServerState, create_app
from agentkit.server.http.thread import ServerThread


class LocalServer:
    """`with LocalServer() as server:` serves the Responses API at `server.base_url`."""

    def __init__(
        self,
        config: ServerConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        **options: Any,
    ) -> None:
        self.config = config or ServerConfig(**options)
        check_bind(host, self.config.api_key)
        self.host = host
        self.port = port
        self.app = create_app(self.config)
        self._thread: ServerThread | None = None

    @property
    def state(self) -> ServerState:
        state: ServerState = self.app.state.server
        return state

    @property
    def engine(self) -> Any:
        return self.state.engine

    @property
    def scripted(self) -> ScriptedEngine:
        """The scripted engine (a clear error when the server runs another engine)."""
        engine = self.state.engine
        if not isinstance(engine, ScriptedEngine):
            raise TypeError("this server was not started with engine='scripted'")
        return engine

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to give the `openai` client as `base_url`."""
        return f"{self.url}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Request bodies the server received, oldest first (secrets redacted)."""
        return list(self.state.requests)

    def start(self) -> LocalServer:
        self._thread = ServerThread(self.app, host=self.host, port=self.port).start()
        self.port = self._thread.port
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
        self._thread = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine only: `localhost` or a loopback address (not a name that
    merely starts with "127.", which DNS may send anywhere)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_key: str | None) -> None:
    """Refuse to listen beyond this machine without an API key."""
    if not is_loopback(host) and not api_key:
        raise ValueError(
            f"refusing to bind {host!r} without an API key: anyone on the network could use "
            "this server. Pass --api-key (or api_key=...) or bind 127.0.0.1."
        )
