"""The server's configuration and the state its routes share (storage, engine, services)."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from agentkit.server.background import Background
from agentkit.server.engines import AutoEngine, Engine, ScriptedEngine
from agentkit.server.hosted.code_interpreter.containers import DEFAULT_IDLE_SECONDS, Containers
from agentkit.server.hosted.code_interpreter.sandbox import SandboxLimits
from agentkit.server.producer import Producer
from agentkit.server.protocol.reasoning import DEFAULT_REASONING_MODELS, ReasoningSealer
from agentkit.server.state.files import MAX_FILE_BYTES, FileStore
from agentkit.server.state.runs import RunStore
from agentkit.server.state.store import Store

MAX_BODY_BYTES = 50 * 1024 * 1024
REQUEST_LOG_SIZE = 1000


@dataclass
class ServerConfig:
    """How the local server behaves; every field has a safe default."""

    db: str = ":memory:"
    engine: str | Engine = "auto"
    api_key: str | None = None
    reasoning_models: tuple[str, ...] = DEFAULT_REASONING_MODELS
    max_body_bytes: int = MAX_BODY_BYTES
    azure: bool = False
    """Answer as Azure OpenAI does where it differs from OpenAI (docs/server.md, "Azure mode")."""
    mcp_timeout: float = 30.0
    """Seconds the hosted `mcp` tool gives a remote MCP server to list its tools or run one."""
    files_dir: str | None = None
    """Where uploaded files and containers live (default: `<db>.files`, or a temporary folder)."""
    max_file_bytes: int = MAX_FILE_BYTES
    container_idle_seconds: float = DEFAULT_IDLE_SECONDS
    """How long a code interpreter container may be idle before it expires (20 minutes)."""
    sandbox: SandboxLimits = field(default_factory=SandboxLimits)
    """Limits and isolation of code interpreter sessions (docs/server.md)."""
    pace_ms: float = 0.0
    """Milliseconds to wait before each delta event of every response (reproducible latency)."""


@dataclass
class ServerState:
    """What the routes share: storage, the engine, keys, and a log of request bodies."""

    config: ServerConfig
    store: Store
    engine: Engine
    sealer: ReasoningSealer
    background: Background
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=REQUEST_LOG_SIZE))
    services: dict[str, Any] = field(default_factory=dict)
    """Resources hosted tools share (file store, containers), by name."""
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    """Streamed (not background) responses being made, kept alive until they end."""
    streams: dict[str, Producer] = field(default_factory=dict)
    """Those of them that will be stored, by id: retrieved as they are while they run."""

    @classmethod
    def open(cls, config: ServerConfig) -> ServerState:
        store = Store(config.db)
        engine = _engine(config.engine)
        sealer = ReasoningSealer(store.meta("reasoning_key", ReasoningSealer.new_key()))
        files = FileStore.open(config.db, config.files_dir)
        containers = Containers(
            files,
            idle_seconds=config.container_idle_seconds,
            limits=config.sandbox,
            max_file_bytes=config.max_file_bytes,
        )
        services = {"mcp_timeout": config.mcp_timeout, "files": files, "containers": containers}
        background = Background(RunStore(config.db), store)
        background.recover()
        return cls(config, store, engine, sealer, background, services=services)

    def close(self) -> None:
        """Stop what the services run (container sessions), then close the storage."""
        for service in reversed(list(self.services.values())):
            close = getattr(service, "close", None)
            if callable(close):
                close()
        self.background.runs.close()
        self.store.close()

    def record(self, body: Any) -> None:
        """Keep the request body for tests to inspect, without MCP headers or other secrets."""
        self.requests.append(_redacted(body))


def _engine(engine: str | Engine) -> Engine:
    if engine == "auto":
        return AutoEngine()
    if engine == "scripted":
        return ScriptedEngine()
    if isinstance(engine, str):
        raise ValueError(f"unknown engine {engine!r}; expected 'auto' or 'scripted'")
    return engine


SECRET_TOOL_FIELDS = ("headers", "authorization")
"""MCP tool fields that carry credentials: never kept in the request log."""


def _redacted(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("tools"), list):
        tools = [_redacted_tool(t) for t in body["tools"]]
        return {**body, "tools": tools}
    return body


def _redacted_tool(tool: Any) -> Any:
    if not isinstance(tool, dict) or not any(k in tool for k in SECRET_TOOL_FIELDS):
        return tool
    return {k: "<redacted>" if k in SECRET_TOOL_FIELDS else v for k, v in tool.items()}
