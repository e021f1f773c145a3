"""Hosted tools: tools the service runs itself, configured as small dataclasses.

`RemoteMCP` gives the model a remote MCP server that the Responses service connects to (the
`{"type": "mcp"}` tool). Its `headers` and `authorization` are secrets: they are sent with each
request and live only in the agent's configuration, never in a `RunState`, a `Conversation`,
a `repr`, a log line or an error message. A user name and password in `server_url` become an
`Authorization: Basic` header, since the service echoes and stores the URL.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from agentkit._secrets import has_header, url_credentials
from agentkit.errors import ConfigurationError

RequireApproval = Literal["always", "never"] | Mapping[str, Any]
"""`"always"`, `"never"`, or the service's filter: `{"never": {"tool_names": [...]}}`."""

SECRET_FIELDS = frozenset({"headers", "authorization"})
"""Tool param fields that carry credentials: sent, never stored, hashed or shown."""


class HostedTool(ABC):
    """A tool the service runs: all agentkit needs is its request param."""

    @abstractmethod
    def to_param(self) -> dict[str, Any]:
        """The Responses API tool param, as sent."""

    def request_headers(self) -> dict[str, str]:
        """HTTP headers each model call needs when this tool is offered (none by default)."""
        return {}


@dataclass(frozen=True, kw_only=True)
class RemoteMCP(HostedTool):
    """A remote MCP server the Responses service calls for the model (hosted MCP).

    The name says where the server is reached from: the service, not this process (for MCP
    servers agentkit runs or connects to itself, see `MCPServerStdio` / `MCPServerHTTP`).

    Args:
        server_label: How the model and the approval requests name this server.
        server_url: The server's MCP endpoint, reachable from the service. A user name and
            password in it are moved into an `Authorization: Basic` header; a query parameter
            that looks like a credential (`token`, `api_key`, ...) is refused: use `headers`.
        headers: HTTP headers the service sends to the server, e.g. `Authorization`; secret.
        authorization: An OAuth access token for the server; secret.
        allowed_tools: Only these of its tools (names), or the service's filter object.
        require_approval: `"always"` (default: every call waits for your approval policy),
            `"never"`, or a filter such as `{"never": {"tool_names": ["search"]}}`.
        server_description: Tells the model what the server is for.
    """

    server_label: str
    server_url: str
    headers: Mapping[str, str] | None = field(default=None, repr=False)
    authorization: str | None = field(default=None, repr=False)
    allowed_tools: Collection[str] | Mapping[str, Any] | None = None
    require_approval: RequireApproval = "always"
    server_description: str | None = None

    def __post_init__(self) -> None:
        label = self.server_label
        if not isinstance(label, str) or not label or label != label.strip():
            raise ConfigurationError(f"RemoteMCP: server_label must be a name, not {label!r}")
        if urlsplit(self.server_url).scheme not in ("http", "https"):
            raise ConfigurationError(f"RemoteMCP {label!r}: server_url must be an http(s) URL")
        if isinstance(self.allowed_tools, str):
            raise ConfigurationError(f"RemoteMCP {label!r}: allowed_tools must be a list of names")
        _check_approval(self.require_approval, label)
        url, headers = url_without_credentials(
            self.server_url, self.headers, f"RemoteMCP {label!r}", token=self.authorization
        )
        object.__setattr__(self, "server_url", url)
        if headers is not None:
            object.__setattr__(self, "headers", dict(headers))

    def to_param(self) -> dict[str, Any]:
        """The Responses API tool param (with the secrets: send it, never store it)."""
        param: dict[str, Any] = {
            "type": "mcp",
            "server_label": self.server_label,
            "server_url": self.server_url,
            "require_approval": _plain(self.require_approval),
        }
        if self.allowed_tools is not None:
            param["allowed_tools"] = _plain(self.allowed_tools)
        if self.server_description is not None:
            param["server_description"] = self.server_description
        if self.headers:
            param["headers"] = dict(self.headers)
        if self.authorization is not None:
            param["authorization"] = self.authorization
        return param

    def __repr__(self) -> str:
        # The URL's query string and user info can carry credentials too.
        url = urlsplit(self.server_url)
        port = f":{url.port}" if url.port else ""
        where = f"{url.scheme}://{url.hostname or ''}{port}{url.path}"
        return f"RemoteMCP(server_label={self.server_label!r}, server_url={where!r})"


def url_without_credentials(
    url: str, headers: Mapping[str, str] | None, where: str, *, token: str | None = None
) -> tuple[str, Mapping[str, str] | None]:
    """`url` without its user info, which joins `headers` as a Basic `Authorization`.

    Credentials in the query are refused: they can't move (the server reads them there), and a
    URL is not kept secret by what handles it: the service echoes and stores `server_url`, and
    httpx logs each request's URL.
    """
    found = url_credentials(url)
    if found.query_credentials:
        raise ConfigurationError(
            f"{where}: the URL's query parameter {found.query_credentials[0]!r} looks like a "
            "credential, and URLs are echoed, stored and logged; send it in a header instead, "
            "e.g. headers={'Authorization': 'Bearer ...'}"
        )
    if found.authorization is None:
        return url, headers
    if token is not None or has_header(headers or {}, "Authorization"):
        raise ConfigurationError(
            f"{where}: the URL has a user name and password and an Authorization is configured "
            "too; give only one of them"
        )
    return found.url, {**(headers or {}), "Authorization": found.authorization}


def _check_approval(value: Any, label: str) -> None:
    if value in ("always", "never"):
        return
    if isinstance(value, Mapping) and value and set(value) <= {"always", "never"}:
        return
    raise ConfigurationError(
        f"RemoteMCP {label!r}: require_approval must be 'always', 'never', or a filter like "
        "{'never': {'tool_names': [...]}}"
    )


def _plain(value: Any) -> Any:
    """A JSON-ready copy: mappings as dicts, other collections as lists."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, Iterable):
        return [_plain(v) for v in value]
    return value


def public_param(param: Mapping[str, Any]) -> dict[str, Any]:
    """A tool param without its secret fields."""
    return {k: v for k, v in param.items() if k not in SECRET_FIELDS}


def fingerprint(params: Iterable[Mapping[str, Any]]) -> str:
    """A hash of tool definitions (secrets left out), to tell whether a tool set changed."""
    canonical = json.dumps(
        [public_param(p) for p in params], sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


IMAGE_DEPLOYMENT_HEADER = "x-ms-oai-image-generation-deployment"
_IMAGE_CHOICES: dict[str, tuple[str, ...]] = {
    "quality": ("low", "medium", "high", "auto"),
    "output_format": ("png", "webp", "jpeg"),
    "background": ("transparent", "opaque", "auto"),
    "moderation": ("auto", "low"),
    "input_fidelity": ("high", "low"),
    "action": ("generate", "edit", "auto"),
}


@dataclass(frozen=True, kw_only=True)
class ImageGeneration(HostedTool):
    """The service's image generation tool: the model draws pictures (`result.images`).

    `None` leaves the service's default. On Azure, name the image model's deployment with
    `deployment`: the agent then sends the `x-ms-oai-image-generation-deployment` header that
    Azure requires with every request offering this tool.

    Args:
        partial_images: 0-3 partial pictures streamed while drawing (with `Agent.stream`).
        size: "1024x1024", "1024x1536", "1536x1024" or "auto".
        quality: "low", "medium", "high" or "auto".
        output_format: "png", "webp" or "jpeg".
        background: "transparent", "opaque" or "auto" (transparent needs png or webp).
        model: The image model, e.g. "gpt-image-1".
        output_compression: 0-100, for webp and jpeg.
        deployment: Azure only: the image model's deployment name (sent as a header).
    """

    partial_images: int | None = None
    size: str | None = None
    quality: str | None = None
    output_format: str | None = None
    background: str | None = None
    model: str | None = None
    output_compression: int | None = None
    moderation: str | None = None
    input_fidelity: str | None = None
    action: str | None = None
    deployment: str | None = None

    def __post_init__(self) -> None:
        for name, allowed in _IMAGE_CHOICES.items():
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise ConfigurationError(
                    f"ImageGeneration: {name} must be one of {', '.join(allowed)}, not {value!r}"
                )
        for name, high in (("partial_images", 3), ("output_compression", 100)):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int) and 0 <= value <= high):
                raise ConfigurationError(f"ImageGeneration: {name} must be 0-{high}, not {value!r}")
        if self.background == "transparent" and self.output_format == "jpeg":
            raise ConfigurationError(
                "ImageGeneration: a transparent background needs output_format png or webp"
            )
        if self.deployment is not None and not self.deployment.strip():
            raise ConfigurationError("ImageGeneration: deployment must be a deployment name")

    def to_param(self) -> dict[str, Any]:
        """The Responses API tool param: the fields that are set (`deployment` is a header)."""
        param: dict[str, Any] = {"type": "image_generation"}
        for name in ("partial_images", "size", "quality", "output_format", "background", "model",
                     "output_compression", "moderation", "input_fidelity", "action"):  # fmt: skip
            value = getattr(self, name)
            if value is not None:
                param[name] = value
        return param

    def request_headers(self) -> dict[str, str]:
        """Azure's image deployment header, when `deployment` is set."""
        return {IMAGE_DEPLOYMENT_HEADER: self.deployment} if self.deployment else {}


CONTAINER_MEMORY_LIMITS = ("1g", "4g", "16g", "64g")
OnExpired = Literal["recreate", "raise"]


@dataclass(frozen=True, kw_only=True)
class CodeInterpreter(HostedTool):
    """The service's code interpreter: the model runs Python in a sandboxed container.

    The agent keeps one container per conversation: once the model has run code, later turns
    and later runs of the conversation name that container explicitly (with `store=False` too,
    where nothing else would carry it), and files the code writes come back in `result.files`.

    Args:
        container: "auto" (the service makes a container, the conversation keeps it) or the
            id of a container made with `client.containers.create(...)`.
        file_ids: Uploaded files (`client.files.create(..., purpose="assistants")`) to copy
            into a container made for the conversation.
        memory_limit: "1g" (the service's default), "4g", "16g" or "64g", for containers made
            for the conversation.
        on_expired: What to do when the conversation's container has expired (after 20 idle
            minutes): "recreate" (default) starts a new one with `file_ids`, transparently
            (the old one's variables and files are gone); "raise" raises `ContainerExpired`.
    """

    container: str = "auto"
    file_ids: Sequence[str] = ()
    memory_limit: str | None = None
    on_expired: OnExpired = "recreate"

    def __post_init__(self) -> None:
        if not isinstance(self.container, str) or not self.container.strip():
            raise ConfigurationError("CodeInterpreter: container must be 'auto' or a container id")
        if isinstance(self.file_ids, str) or not all(isinstance(f, str) for f in self.file_ids):
            raise ConfigurationError("CodeInterpreter: file_ids must be a list of file ids")
        if self.memory_limit is not None and self.memory_limit not in CONTAINER_MEMORY_LIMITS:
            raise ConfigurationError(
                f"CodeInterpreter: memory_limit must be one of "
                f"{', '.join(CONTAINER_MEMORY_LIMITS)}, not {self.memory_limit!r}"
            )
        if self.on_expired not in ("recreate", "raise"):
            raise ConfigurationError("CodeInterpreter: on_expired must be 'recreate' or 'raise'")
        object.__setattr__(self, "file_ids", tuple(self.file_ids))

    def to_param(self) -> dict[str, Any]:
        """The Responses API tool param."""
        container = self.container if self.container != "auto" else self.auto_container()
        return {"type": "code_interpreter", "container": container}

    def auto_container(self) -> dict[str, Any]:
        """The `{"type": "auto", ...}` container config: a new container with `file_ids`."""
        config: dict[str, Any] = {"type": "auto"}
        if self.file_ids:
            config["file_ids"] = list(self.file_ids)
        if self.memory_limit is not None:
            config["memory_limit"] = self.memory_limit
        return config
