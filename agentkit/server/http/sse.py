"""Server-sent events: the service's framing, and a response's events on one connection."""

from __future__ import annotations

import json
from typing import Any

Event = dict[str, Any]


def frame(event: Event) -> bytes:
    """One SSE frame: `event: <type>\\ndata: <compact json>\\n\\n`."""
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


def dumps(value: Any) -> bytes:
    # allow_nan=False: NaN and Infinity are not JSON; failing here beats sending them.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
