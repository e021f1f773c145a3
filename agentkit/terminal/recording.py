"""`agentkit record`: a recording proxy to the endpoint the environment names, around a command
(`agentkit record --cassette c.json -- pytest tests/x.py`) or until Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from agentkit.errors import AgentkitError
from agentkit.local import server_missing

__all__ = ["record"]

REPLACED = ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL")


def record(cassette: Path, command: Sequence[str], port: int) -> int:
    """Record every exchange through the proxy into `cassette`; the command's exit status."""
    try:
        from agentkit.model import resolve_client
        from agentkit.server.http.thread import ServerThread
        from agentkit.testing.record import Recorder, recording_app
    except ImportError as error:
        print(f"agentkit record: {server_missing('agentkit record', error)}", file=sys.stderr)
        return 2
    try:
        recorder = Recorder(resolve_client())
    except AgentkitError as error:
        print(f"agentkit record: {error}", file=sys.stderr)
        return 2
    proxy = ServerThread(recording_app(recorder), port=port).start()
    base_url = proxy.url + "/v1"
    print(f"agentkit record: {recorder.cassette.upstream} through {base_url} → {cassette}")
    try:
        status = _run(command, base_url) if command else _wait()
    finally:
        proxy.stop()
        saved = recorder.save(cassette)
        print(f"agentkit record: {len(saved.exchanges)} exchanges written to {cassette}")
    return status


def _run(command: Sequence[str], base_url: str) -> int:
    env = {k: v for k, v in os.environ.items() if k not in REPLACED}
    env.update(AGENTKIT_BASE_URL=base_url, AGENTKIT_API_KEY="recording")
    return subprocess.run(list(command), env=env, check=False).returncode


def _wait() -> int:
    print("  point agents at it with AGENTKIT_BASE_URL; Ctrl-C stops and writes the cassette")
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    return 0
