"""Any ASGI app served by uvicorn on a loopback port in a background thread: the one helper
behind `LocalServer`, the testing kit's replay and recording servers, and the tests' own."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from types import TracebackType
from typing import Any, Literal

import uvicorn

STARTUP_SECONDS = 15.0


class ServerThread:
    """`with ServerThread(app) as running:` serves `app` at `running.url` until the block ends.

    `port=0` takes a free port; the socket is bound before the thread starts, so `port` is
    known at once and no other process can take it in between.
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        lifespan: Literal["auto", "on", "off"] = "on",
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._lifespan: Literal["auto", "on", "off"] = lifespan
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> ServerThread:
        sock = _bound_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan=self._lifespan,
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._serve,
            args=(self._server, sock, started),
            name=f"agentkit-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        if not started.wait(STARTUP_SECONDS):
            self.stop()
            raise RuntimeError(f"the server did not start within {STARTUP_SECONDS:.0f} s")
        if not self._server.started:
            self.stop()
            raise RuntimeError("the server stopped while starting (see the log above)")
        return self

    @staticmethod
    def _serve(server: uvicorn.Server, sock: socket.socket, started: threading.Event) -> None:
        async def main() -> None:
            task = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started and not task.done():  # noqa: ASYNC110 (uvicorn has no event)
                await asyncio.sleep(0.005)
            started.set()
            await task

        try:
            with contextlib.closing(sock):
                asyncio.run(main())
        finally:
            started.set()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._server = None
        self._thread = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _bound_socket(host: str, port: int) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they
    # are TCP, and without it every response waits ~40 ms for a delayed ACK (Nagle).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
