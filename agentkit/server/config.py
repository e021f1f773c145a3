"""The server's configuration and the state its routes share (storage, engine, services)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from agentkit.server.background import Background
from agentkit.server.engines import AutoEngine, Engine, ScriptedEngine
from agentkit.server.hosted.code_interpreter.containers import DEFAULT_IDLE_SECONDS, Containers
from agentkit.server.hosted.code_interpreter.sandbox import SandboxLimits
from agentkit.server.producer import Producer
from agentkit.server.protocol.models import DEFAULT_MODELS, ModelCard, reasoning_cards
from agentkit.server.protocol.reasoning import DEFAULT_REASONING_MODELS, ReasoningSealer
from agentkit.server.protocol.usage import count_items
from agentkit.server.state.conversations import ConversationStore
from agentkit.server.state.files import MAX_FILE_BYTES, FileStore
from agentkit.server.state.lock import DataLock, lock_data
from agentkit.server.state.recorded import RecordedRequests
from agentkit.server.state.runs import RunStore
from agentkit.server.state.store import DEFAULT_CACHE_BYTES, Store

MAX_BODY_BYTES = 50 * 1024 * 1024
REQUEST_THREADS = 4
T = TypeVar("T")


@dataclass
class ServerConfig:
    """How the local server behaves; every field has a safe default."""

    db: str = ":memory:"
    engine: str | Engine = "auto"
    api_key: str | None = None
    reasoning_models: tuple[str, ...] = DEFAULT_REASONING_MODELS
    max_body_bytes: int = MAX_BODY_BYTES
    cache_bytes: int = DEFAULT_CACHE_BYTES
    """How much stored JSON is kept decoded in memory, most recently used first (64 MiB)."""
    request_threads: int = REQUEST_THREADS
    """Threads that decode, check and store requests off the event loop (at most this many
    at once: more wait their turn, and the event loop keeps answering)."""
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
    models: tuple[ModelCard, ...] | None = None
    """The model catalogue (docs/server.md, "Models"): OpenAI's rules by default, or only
    `reasoning_models` reasoning when those are changed."""
    deployments: dict[str, str] = field(default_factory=dict)
    """Azure deployments, name → model: when any are declared, other names are a 404
    `DeploymentNotFound`, as on Azure (Azure mode only)."""

    def catalogue(self) -> tuple[ModelCard, ...]:
        """The model cards requests are checked against, first match wins."""
        if self.models is not None:
            return self.models
        if tuple(self.reasoning_models) != DEFAULT_REASONING_MODELS:
            return reasoning_cards(self.reasoning_models)
        return DEFAULT_MODELS

    def __post_init__(self) -> None:
        if self.deployments and not self.azure:
            raise ValueError(
                "deployments are an Azure OpenAI concept: declare them with azure=True "
                "(agentkit serve --azure --deployment NAME=MODEL)"
            )
        if self.api_key is not None and not self.api_key.strip():
            raise ValueError(
                "the API key (--api-key, AGENTKIT_SERVER_API_KEY or api_key=...) is empty: "
                "no request could match it. Pass a key, or none to accept every request."
            )


@dataclass
class ServerState:
    """What the routes share: storage, the engine, keys, and a log of request bodies."""

    config: ServerConfig
    store: Store
    engine: Engine
    sealer: ReasoningSealer
    background: Background
    conversations: ConversationStore
    requests: RecordedRequests = field(default_factory=RecordedRequests)
    services: dict[str, Any] = field(default_factory=dict)
    """Resources hosted tools share (file store, containers), by name."""
    workers: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(REQUEST_THREADS, "agentkit-request")
    )
    """Where request work that would block the event loop runs (`offload`)."""
    locks: list[DataLock] = field(default_factory=list)
    """Held while the server runs, so no second server opens the same database."""
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    """Streamed (not background) responses being made, kept alive until they end."""
    streams: dict[str, Producer] = field(default_factory=dict)
    """Those of them that will be stored, by id: retrieved as they are while they run."""

    @property
    def catalogue(self) -> tuple[ModelCard, ...]:
        return self.config.catalogue()

    @classmethod
    def open(cls, config: ServerConfig) -> ServerState:
        """Lock the database (`DatabaseInUse` if another server has it), then open it all."""
        locks = lock_data(config.db, config.files_dir)
        try:
            state = cls._open(config)
        except BaseException:
            _release(locks)
            raise
        state.locks = locks
        return state

    @classmethod
    def _open(cls, config: ServerConfig) -> ServerState:
        store = Store(config.db, cache_bytes=config.cache_bytes, weigh=count_items)
        engine = _engine(config.engine)
        sealer = ReasoningSealer(store.meta("reasoning_key", ReasoningSealer.new_key()))
        files = FileStore.open(config.db, config.files_dir)
        containers = Containers(
            files,
            idle_seconds=config.container_idle_seconds,
            limits=config.sandbox,
            max_file_bytes=config.max_file_bytes,
        )
        services = {
            "mcp_timeout": config.mcp_timeout,
            "azure": config.azure,
            "files": files,
            "containers": containers,
        }
        workers = ThreadPoolExecutor(config.request_threads, "agentkit-request")
        background = Background(RunStore(config.db), store)
        background.recover()
        conversations = ConversationStore(config.db)
        return cls(
            config,
            store,
            engine,
            sealer,
            background,
            conversations,
            services=services,
            workers=workers,
        )

    def close(self) -> None:
        """Finish request work, stop what the services run (container sessions), close the
        storage, and only then let another server open it."""
        self.workers.shutdown(wait=True, cancel_futures=True)
        for service in reversed(list(self.services.values())):
            close = getattr(service, "close", None)
            if callable(close):
                close()
        self.background.runs.close()
        self.conversations.close()
        self.store.close()
        _release(self.locks)

    async def offload(self, work: Callable[..., T], *args: Any) -> T:
        """Run blocking request work (decoding, checks, storage) in `workers`, so one large
        request never stalls the event loop, and at most `request_threads` run at once."""
        return await asyncio.get_running_loop().run_in_executor(self.workers, work, *args)

    def record(self, body: Any, size: int) -> None:
        """Keep the request body (its JSON `size` bytes long) for tests to inspect, without MCP
        headers or other secrets, while it is among the latest (`RecordedRequests`)."""
        self.requests.add(body, size)


def _release(locks: list[DataLock]) -> None:
    for lock in locks:
        lock.release()


def _engine(engine: str | Engine) -> Engine:
    if engine == "auto":
        return AutoEngine()
    if engine == "scripted":
        return ScriptedEngine()
    if isinstance(engine, str):
        raise ValueError(f"unknown engine {engine!r}; expected 'auto' or 'scripted'")
    return engine
