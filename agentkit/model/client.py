"""The `AsyncOpenAI` client agentkit talks through: the user's own, or one built from the environment.

`resolve_client()` with no argument picks the first configured endpoint, in this order:

1. ``AGENTKIT_BASE_URL`` — any Responses endpoint, e.g. ``agentkit serve`` at
   ``http://127.0.0.1:8000/v1``; key from ``AGENTKIT_API_KEY`` (a placeholder when unset).
2. ``AZURE_OPENAI_ENDPOINT`` — Azure OpenAI's v1 API at ``{endpoint}/openai/v1/``. With
   ``AZURE_OPENAI_API_KEY`` the key is sent both as the ``api-key`` header and as a Bearer
   token (the v1 API accepts either, so whichever Azure checks finds it); without a key,
   Microsoft Entra ID through ``azure.identity.DefaultAzureCredential``.
3. ``OPENAI_API_KEY`` — OpenAI, or ``OPENAI_BASE_URL`` if set.

Every client returned has the SDK's own retries off: agentkit retries once, in `with_retries`.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, cast

import openai
from openai.lib.azure import API_KEY_SENTINEL

from agentkit.errors import ConfigurationError

__all__ = [
    "ENTRA_SCOPE",
    "LOCAL_API_KEY",
    "AccessTokenLike",
    "TokenCredentialLike",
    "azure_v1_base_url",
    "entra_token_provider",
    "resolve_client",
]

OPENAI_BASE_URL = "https://api.openai.com/v1"

ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"
"""The Entra ID scope Azure OpenAI tokens are issued for."""

LOCAL_API_KEY = "agentkit-local"
"""Sent to an `AGENTKIT_BASE_URL` endpoint when no `AGENTKIT_API_KEY` is set (the SDK needs some key)."""

NOT_CONFIGURED = """No model endpoint is configured. Set one of these (the first one set wins):
  1. AGENTKIT_BASE_URL, e.g. http://127.0.0.1:8000/v1 for `agentkit serve` (AGENTKIT_API_KEY if it checks a key)
  2. AZURE_OPENAI_ENDPOINT, with AZURE_OPENAI_API_KEY; without a key, Microsoft Entra ID is used
     (DefaultAzureCredential: `az login`, a managed identity, or AZURE_CLIENT_ID/AZURE_TENANT_ID/...)
  3. OPENAI_API_KEY, with OPENAI_BASE_URL for another OpenAI-compatible endpoint
or pass a client: Agent(..., client=openai.AsyncOpenAI(...))."""

ApiKey = str | Callable[[], Awaitable[str]]


class AccessTokenLike(Protocol):
    """What `get_token` returns (`azure.core.credentials.AccessToken` fits)."""

    @property
    def token(self) -> str: ...

    @property
    def expires_on(self) -> int: ...


class TokenCredentialLike(Protocol):
    """Any Entra ID credential, sync or async (every `azure.identity` credential fits)."""

    def get_token(self, *scopes: str) -> AccessTokenLike | Awaitable[AccessTokenLike]: ...


def resolve_client(client: openai.AsyncOpenAI | openai.OpenAI | None = None) -> openai.AsyncOpenAI:
    """The async client to call the model through, with the SDK's retries off.

    An `AsyncOpenAI` (or `AsyncAzureOpenAI`) is reused with `max_retries=0`, sharing its
    connection pool. A sync `OpenAI`/`AzureOpenAI` is rebuilt as its async twin with the same
    key (a callable key or Entra token provider keeps working, run in a worker thread),
    base URL, organization, project, default headers and query, and timeout. Its
    `http_client` (proxies, custom transports, TLS settings) and workload identity cannot
    carry over: pass an async client to keep those.
    """
    if client is None:
        return _from_environment(os.environ)
    if isinstance(client, openai.AsyncOpenAI):
        return client.with_options(max_retries=0)
    if isinstance(client, openai.AzureOpenAI):
        return _async_azure(client)
    if isinstance(client, openai.OpenAI):
        return _async_openai(client)
    raise ConfigurationError(
        f"expected an openai.AsyncOpenAI or openai.OpenAI client, got {type(client).__name__}"
    )


def azure_v1_base_url(endpoint: str) -> str:
    """Azure OpenAI's v1 API base URL for a resource endpoint (one that already names it is kept)."""
    base = endpoint.rstrip("/")
    if base.endswith("/openai/v1"):
        return base + "/"
    if base.endswith("/openai"):
        return base + "/v1/"
    return base + "/openai/v1/"


def entra_token_provider(
    credential: TokenCredentialLike,
    scope: str = ENTRA_SCOPE,
    *,
    refresh_margin: float = 300.0,
) -> Callable[[], Awaitable[str]]:
    """An async `api_key` provider giving `credential`'s token, cached until `refresh_margin` s before expiry.

    A sync credential's `get_token` runs in a worker thread, so a slow token fetch never
    blocks the event loop.
    """
    return _EntraTokenProvider(credential, scope, refresh_margin)


class _EntraTokenProvider:
    """Caches one Entra ID token; concurrent callers share a single refresh."""

    def __init__(self, credential: TokenCredentialLike, scope: str, refresh_margin: float) -> None:
        self._credential = credential
        self._scope = scope
        self._refresh_margin = refresh_margin
        self._token = ""
        self._expires_on = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"entra_token_provider(scope={self._scope!r})"

    async def __call__(self) -> str:
        if self._is_fresh():
            return self._token
        async with self._lock:
            if not self._is_fresh():
                access = await self._fetch()
                self._token, self._expires_on = access.token, float(access.expires_on)
        return self._token

    def _is_fresh(self) -> bool:
        return bool(self._token) and time.time() < self._expires_on - self._refresh_margin

    async def _fetch(self) -> AccessTokenLike:
        get_token = self._credential.get_token
        if inspect.iscoroutinefunction(get_token):
            return cast(AccessTokenLike, await get_token(self._scope))
        result = await asyncio.to_thread(get_token, self._scope)
        if inspect.isawaitable(result):
            return await result
        return result


def _from_environment(env: Mapping[str, str]) -> openai.AsyncOpenAI:
    """The client for the first endpoint configured in `env` (precedence in the module docstring)."""
    if base_url := env.get("AGENTKIT_BASE_URL"):
        local_key = env.get("AGENTKIT_API_KEY") or LOCAL_API_KEY
        return openai.AsyncOpenAI(base_url=base_url, api_key=local_key, max_retries=0)
    if endpoint := env.get("AZURE_OPENAI_ENDPOINT"):
        return _azure_client(azure_v1_base_url(endpoint), env.get("AZURE_OPENAI_API_KEY"))
    if api_key := env.get("OPENAI_API_KEY"):
        openai_url = env.get("OPENAI_BASE_URL") or OPENAI_BASE_URL
        return openai.AsyncOpenAI(base_url=openai_url, api_key=api_key, max_retries=0)
    raise ConfigurationError(NOT_CONFIGURED)


def _azure_client(base_url: str, api_key: str | None) -> openai.AsyncOpenAI:
    """A plain `AsyncOpenAI` on Azure's v1 API, by key or by Entra ID."""
    if api_key:
        headers = {"api-key": api_key}
        return openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key, default_headers=headers, max_retries=0
        )
    return openai.AsyncOpenAI(base_url=base_url, api_key=_default_credential(), max_retries=0)


def _default_credential() -> Callable[[], Awaitable[str]]:
    """Entra ID tokens from `DefaultAzureCredential`, imported only here (it is heavy).

    The sync credential, run in a worker thread: `azure.identity.aio` needs `aiohttp`, which
    agentkit does not depend on, and tokens are fetched about once an hour anyway.
    """
    from azure.identity import DefaultAzureCredential

    return entra_token_provider(DefaultAzureCredential())


def _async_openai(client: openai.OpenAI) -> openai.AsyncOpenAI:
    """The async twin of a sync `OpenAI` client."""
    _reject_workload_identity(client)
    return openai.AsyncOpenAI(
        api_key=_async_api_key(client),
        organization=client.organization,
        project=client.project,
        base_url=client.base_url,
        timeout=client.timeout,
        max_retries=0,
        default_headers=client._custom_headers,
        default_query=client._custom_query,
    )


def _async_azure(client: openai.AzureOpenAI) -> openai.AsyncOpenAI:
    """The async twin of a sync `AzureOpenAI` client (key, Entra token or token provider)."""
    api_key = _async_api_key(client)
    provider = client._azure_ad_token_provider
    options: dict[str, Any] = {
        "api_version": client._api_version,
        "api_key": None if api_key == API_KEY_SENTINEL else api_key,
        "azure_ad_token": client._azure_ad_token,
        "azure_ad_token_provider": _in_thread(provider) if provider is not None else None,
        "organization": client.organization,
        "project": client.project,
        "timeout": client.timeout,
        "max_retries": 0,
        "default_headers": client._custom_headers,
        "default_query": {k: v for k, v in client._custom_query.items() if k != "api-version"},
    }
    if client._azure_endpoint is not None and client._azure_deployment is not None:
        options["azure_endpoint"] = str(client._azure_endpoint)
        options["azure_deployment"] = client._azure_deployment
    else:
        options["base_url"] = str(client.base_url)
    return openai.AsyncAzureOpenAI(**options)


def _async_api_key(client: openai.OpenAI) -> ApiKey:
    """The sync client's key, or its key provider run in a worker thread."""
    provider = client._api_key_provider
    return _in_thread(provider) if provider is not None else client.api_key


def _in_thread(provider: Callable[[], str]) -> Callable[[], Awaitable[str]]:
    """An async wrapper that calls a sync (possibly blocking) token provider in a worker thread."""

    async def call() -> str:
        return await asyncio.to_thread(provider)

    return call


def _reject_workload_identity(client: openai.OpenAI) -> None:
    """Workload identity lives in the sync client's HTTP stack, which cannot be reused."""
    if client.workload_identity is not None:
        raise ConfigurationError(
            "a sync OpenAI client with workload_identity cannot be converted: "
            "pass an openai.AsyncOpenAI built with the same workload_identity"
        )
