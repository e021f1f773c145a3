"""Cassettes: the HTTP exchanges of an agent with a Responses endpoint, as JSON, without secrets.

A cassette keeps, for each request in order: the method, the path under the API's base
(`/responses`, `/responses/resp_1`), the query without credentials and the JSON body; and
for its answer the status and the JSON body, or the raw events of a stream. Headers are never
kept, MCP tools' `headers`/`authorization` are redacted, and every credential the recorder
saw is scrubbed from the text before it is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from agentkit._secrets import header_secrets, scrub

__all__ = [
    "CASSETTE_FORMAT",
    "Cassette",
    "Exchange",
    "credential_headers",
    "final_body",
    "public_query",
]

CASSETTE_FORMAT = 1
SECRET_TOOL_FIELDS = ("headers", "authorization")
_CREDENTIAL_NAME = re.compile(r"(key|token|secret|signature|sig|auth|authorization|password)$")


@dataclass
class Exchange:
    """One request and the answer it got."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    answer: Any = None
    """The answer's JSON body (None for a stream)."""
    events: list[str] | None = None
    """A stream's events, each as its raw `event:`/`data:` lines."""

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    def describe(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in sorted(self.query.items()))
        return f"{self.method} {self.path}" + (f"?{query}" if query else "")

    def to_dict(self) -> dict[str, Any]:
        request = {"method": self.method, "path": self.path, "query": self.query}
        if self.body is not None:
            request["body"] = redacted(self.body)
        response: dict[str, Any] = {"status": self.status}
        if self.events is not None:
            response["events"] = self.events
        else:
            response["body"] = redacted(self.answer)
        return {"request": request, "response": response}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Exchange:
        request, response = data["request"], data["response"]
        return cls(
            method=str(request["method"]),
            path=str(request["path"]),
            query={str(k): str(v) for k, v in (request.get("query") or {}).items()},
            body=request.get("body"),
            status=int(response["status"]),
            answer=response.get("body"),
            events=response.get("events"),
        )


@dataclass
class Cassette:
    """The exchanges of one recording, oldest first."""

    exchanges: list[Exchange] = field(default_factory=list)
    upstream: str = ""
    """Where it was recorded (scheme, host and path only)."""

    def save(self, path: str | Path, secrets: Iterable[str] = ()) -> None:
        """Write the cassette as JSON, with every one of `secrets` scrubbed from it."""
        data = {
            "format": CASSETTE_FORMAT,
            "upstream": self.upstream,
            "exchanges": [exchange.to_dict() for exchange in self.exchanges],
        }
        text = scrub(json.dumps(data, indent=1, ensure_ascii=False), secrets)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Cassette:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != CASSETTE_FORMAT:
            raise ValueError(
                f"{path} is not an agentkit cassette of format {CASSETTE_FORMAT} "
                f"(format {data.get('format') if isinstance(data, dict) else None!r})"
            )
        exchanges = [Exchange.from_dict(item) for item in data.get("exchanges", [])]
        return cls(exchanges, str(data.get("upstream", "")))


def redacted(body: Any) -> Any:
    """A request or response body without MCP credentials (tools' `headers`/`authorization`)."""
    if isinstance(body, dict):
        if isinstance(body.get("tools"), list):
            body = {**body, "tools": [_redacted_tool(t) for t in body["tools"]]}
        if isinstance(body.get("response"), dict):  # a stream event carrying the response
            body = {**body, "response": redacted(body["response"])}
    return body


def _redacted_tool(tool: Any) -> Any:
    if not isinstance(tool, dict) or not any(k in tool for k in SECRET_TOOL_FIELDS):
        return tool
    return {k: "<redacted>" if k in SECRET_TOOL_FIELDS else v for k, v in tool.items()}


def credential_headers(headers: Mapping[str, str]) -> list[str]:
    """The credentials among `headers`: those named like a key, token or authorization."""
    chosen = {k: v for k, v in headers.items() if _CREDENTIAL_NAME.search(k.lower())}
    return header_secrets(chosen)


def public_query(query: str) -> dict[str, str]:
    """A query string's parameters, without those named like credentials (`api-key`, `sig`)."""
    return {k: v for k, v in parse_qsl(query) if not _CREDENTIAL_NAME.search(k.lower())}


def split_events(text: str) -> list[str]:
    """A stream's body as its events (blank-line separated blocks), MCP credentials redacted."""
    blocks = [block.strip("\r\n") for block in re.split(r"\r?\n\r?\n", text)]
    return [_redacted_event(block) for block in blocks if block.strip()]


def _redacted_event(block: str) -> str:
    lines = block.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("data:"):
            try:
                data = json.loads(line[5:])
            except ValueError:
                continue
            lines[index] = "data: " + json.dumps(redacted(data), separators=(",", ":"))
    return "\n".join(lines)


def final_body(exchange: Exchange) -> Any:
    """The response object an answer carries: its JSON body, or a stream's last response."""
    if exchange.events is None:
        return exchange.answer
    found = None
    for event in exchange.events:
        for line in event.splitlines():
            if line.startswith("data:"):
                try:
                    data = json.loads(line[5:])
                except ValueError:
                    continue
                if isinstance(data, dict) and isinstance(data.get("response"), dict):
                    found = data["response"]
    return found
