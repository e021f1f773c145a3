"""Sync code called from async code in daemon threads that a cancelled caller abandons.

`asyncio.to_thread` runs on the loop's default executor, whose threads `asyncio.run` joins when
it closes the loop and the interpreter joins at exit: one stuck sync tool would hold its run past
the tool's timeout, then the process, forever. `concurrent.futures` and anyio workers are joined
at exit too. So sync tools run on a small pool of daemon threads of agentkit's own: reused while
idle, left to finish (or not) on their own when their caller gave up.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
IDLE_SECONDS = 60.0
"""How long an idle worker waits for work before it ends."""


class _DaemonPool:
    """Daemon worker threads: an idle one takes the next job, else a new one starts for it."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # waiting workers no job has been handed to yet

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            spawn = self._idle == 0
            if not spawn:
                self._idle -= 1
        self._jobs.put(job)
        if spawn:  # so a job never waits behind a busy (or stuck) worker
            threading.Thread(target=self._work, name="agentkit-worker", daemon=True).start()

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # else a job is on its way to this worker
                        self._idle -= 1
                        return
                continue
            job()
            del job  # drop the finished call's frame and result before waiting again
            with self._lock:
                self._idle += 1


_POOL = _DaemonPool()


async def in_daemon_thread(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`asyncio.to_thread` on daemon threads: a cancelled caller returns at once, and nothing
    ever waits for the thread (its late result is dropped)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():  # the caller may have been cancelled meanwhile
            outcome()

    def deliver(outcome: Callable[[], None]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, outcome)

    def job() -> None:
        try:
            result = context.run(func, *args, **kwargs)
        except StopIteration as exc:  # a future refuses it, as generators do (PEP 479)
            error = RuntimeError(f"{func!r} raised StopIteration")
            error.__cause__ = exc
            deliver(functools.partial(future.set_exception, error))
        except BaseException as exc:
            deliver(functools.partial(future.set_exception, exc))
        else:
            deliver(functools.partial(future.set_result, result))

    _POOL.submit(job)
    return await future
