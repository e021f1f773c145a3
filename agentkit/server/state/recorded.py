"""The latest create-request bodies, kept for tests to inspect: bounded in count and bytes,
with MCP credentials redacted."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

MAX_COUNT = 1000
MAX_BYTES = 16 * 1024 * 1024
SECRET_TOOL_FIELDS = ("headers", "authorization")
"""MCP tool fields that carry credentials: never kept."""


class RecordedRequests:
    """At most `max_count` bodies and `max_bytes` of their JSON, oldest dropped first (the
    latest is always kept, whatever its size); safe to use from several threads."""

    def __init__(self, max_count: int = MAX_COUNT, max_bytes: int = MAX_BYTES) -> None:
        self.max_count = max_count
        self.max_bytes = max_bytes
        self._bodies: deque[tuple[Any, int]] = deque()
        self._bytes = 0
        self._lock = threading.Lock()

    def add(self, body: Any, size: int) -> None:
        """Keep `body` (whose JSON is `size` bytes long), redacted."""
        with self._lock:
            self._bodies.append((_redacted(body), size))
            self._bytes += size
            while len(self._bodies) > 1 and (
                len(self._bodies) > self.max_count or self._bytes > self.max_bytes
            ):
                self._bytes -= self._bodies.popleft()[1]

    def clear(self) -> None:
        with self._lock:
            self._bodies.clear()
            self._bytes = 0

    def __iter__(self) -> Iterator[Any]:
        with self._lock:
            return iter([body for body, _ in self._bodies])

    def __len__(self) -> int:
        return len(self._bodies)


def _redacted(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("tools"), list):
        tools = [_redacted_tool(t) for t in body["tools"]]
        return {**body, "tools": tools}
    return body


def _redacted_tool(tool: Any) -> Any:
    if not isinstance(tool, dict) or not any(k in tool for k in SECRET_TOOL_FIELDS):
        return tool
    return {k: "<redacted>" if k in SECRET_TOOL_FIELDS else v for k, v in tool.items()}
