"""Run the server on a free loopback port in a background thread (tests, the demo, notebooks)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
from types import TracebackType
from typing import Any

import uvicorn

from agentkit.server.engines import ScriptedEngine
from agentkit.server.http.app import ServerConfig, ServerState, create_app


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
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

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
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they
        # are TCP, and without it every response waits ~40 ms for a delayed ACK (Nagle).
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="on",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._serve,
            args=(sock, started),
            name=f"agentkit-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        if not started.wait(15):
            raise RuntimeError("the local server did not start within 15 s")
        return self

    def _serve(self, sock: socket.socket, started: threading.Event) -> None:
        assert self._server is not None
        server = self._server

        async def main() -> None:
            task = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started and not task.done():  # noqa: ASYNC110 (uvicorn has no event)
                await asyncio.sleep(0.005)
            started.set()
            await task

        with contextlib.closing(sock):
            asyncio.run(main())

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._server = None
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
