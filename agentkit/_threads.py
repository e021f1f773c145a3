"""Sync code called from async code in a daemon thread that a cancelled caller abandons."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def in_daemon_thread(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`asyncio.to_thread`, in a thread of its own that nothing ever joins.

    `to_thread` runs on the loop's default executor, whose threads `asyncio.run` joins when it
    closes the loop and the interpreter joins at exit: one stuck sync tool would hold its run
    past the tool's timeout, then the process, forever. Here a cancelled caller returns at
    once; the thread ends when the function does, or with the process, and its result is
    dropped.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():  # the caller may have been cancelled meanwhile
            outcome()

    def deliver(outcome: Callable[[], None]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, outcome)

    def work() -> None:
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

    name = f"agentkit-{getattr(func, '__name__', 'call')}"
    threading.Thread(target=work, name=name, daemon=True).start()
    return await future
