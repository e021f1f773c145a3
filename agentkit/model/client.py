"""The `AsyncOpenAI` client agentkit talks through: the user's own, or one built from the environment.

`resolve_client()` with no argument picks the first configured endpoint, in this order:

1. ``AGENTKIT_BASE_URL`` — any Responses endpoint, e.g. ``agentkit serve`` at
   ``http://127.0.0.1:8000/v1``; key from ``AGENTKIT_API_KEY`` (a placeholder when unset).
   ``local`` means agentkit's embedded local server, started in this process.
2. ``AZURE_OPENAI_ENDPOINT`` — Azure OpenAI's v1 API at ``{endpoint}/openai/v1/``. With
   ``AZURE_OPENAI_API_KEY`` the key is sent both as the ``api-key`` header and as a Bearer
   token (the v1 API accepts either, so whichever Azure checks finds it); without a key,
   Microsoft Entra ID through ``azure.identity.DefaultAzureCredential``.
   ``AZURE_OPENAI_API_VERSION``, if set, is sent as the ``api-version`` query parameter.
3. ``OPENAI_API_KEY`` — OpenAI, or ``OPENAI_BASE_URL`` if set.

The endpoint chosen is logged once at INFO (logger ``agentkit.model``); an
``AGENTKIT_BASE_URL`` that hides Azure or OpenAI settings also set is warned about.
Every client returned has the SDK's own retries off: agentkit retries once, in `with_retries`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, cast

import openai
from openai.lib.azure import API_KEY_SENTINEL

from agentkit.errors import ConfigurationError, ConfigurationWarning
from agentkit.local import LOCAL, local_endpoint

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
  1. AGENTKIT_BASE_URL, e.g. http://127.0.0.1:8000/v1 for `agentkit serve` (AGENTKIT_API_KEY if it checks a key),
     or `local` for agentkit's embedded local server (offline, no account; needs agentkit-responses[server])
  2. AZURE_OPENAI_ENDPOINT, with AZURE_OPENAI_API_KEY; without a key, Microsoft Entra ID is used
     (DefaultAzureCredential: `az login`, a managed identity, or AZURE_CLIENT_ID/AZURE_TENANT_ID/...)
  3. OPENAI_API_KEY, with OPENAI_BASE_URL for another OpenAI-compatible endpoint
or pass a client: Agent(..., client=openai.AsyncOpenAI(...))."""

ENTRA_FAILED = """AZURE_OPENAI_API_KEY is not set, so Microsoft Entra ID was tried (DefaultAzureCredential),
and signing in failed. Set AZURE_OPENAI_API_KEY, or sign in: `az login`, a managed identity, or
AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET. What azure-identity said:
{reason}"""

ENTRA_MISSING = (
    "AZURE_OPENAI_API_KEY is not set, so Microsoft Entra ID would be used, but azure-identity "
    "is not installed: set AZURE_OPENAI_API_KEY, or pip install 'agentkit-responses[azure]'"
)

logger = logging.getLogger("agentkit.model")
_announced: set[tuple[str, str]] = set()

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
        _warn_shadowed(env)
        local_key = env.get("AGENTKIT_API_KEY") or LOCAL_API_KEY
        source = "AGENTKIT_BASE_URL"
        if base_url.strip().lower() == LOCAL:
            base_url, local_key = local_endpoint()
            source = "AGENTKIT_BASE_URL=local: agentkit's embedded local server"
        _announce(base_url, source)
        return openai.AsyncOpenAI(base_url=base_url, api_key=local_key, max_retries=0)
    if endpoint := env.get("AZURE_OPENAI_ENDPOINT"):
        base_url = azure_v1_base_url(endpoint)
        api_key = env.get("AZURE_OPENAI_API_KEY")
        _announce(base_url, "AZURE_OPENAI_ENDPOINT, " + ("api key" if api_key else "Entra ID"))
        return _azure_client(base_url, api_key, env.get("AZURE_OPENAI_API_VERSION"))
    if api_key := env.get("OPENAI_API_KEY"):
        openai_url = env.get("OPENAI_BASE_URL") or OPENAI_BASE_URL
        _announce(openai_url, "OPENAI_API_KEY")
        return openai.AsyncOpenAI(base_url=openai_url, api_key=api_key, max_retries=0)
    raise ConfigurationError(NOT_CONFIGURED)


def _announce(base_url: str, source: str) -> None:
    """One INFO line per endpoint and source, the first time an agent resolves it."""
    if (base_url, source) not in _announced:
        _announced.add((base_url, source))
        logger.info("model endpoint: %s (from %s)", base_url, source)


def _warn_shadowed(env: Mapping[str, str]) -> None:
    """AGENTKIT_BASE_URL wins over Azure and OpenAI settings: say so when both are set."""
    hidden = [name for name in ("AZURE_OPENAI_ENDPOINT", "OPENAI_API_KEY") if env.get(name)]
    if hidden:
        warnings.warn(
            f"AGENTKIT_BASE_URL={env['AGENTKIT_BASE_URL']} is set, so agents use it and ignore "
            f"{' and '.join(hidden)}; unset AGENTKIT_BASE_URL to use "
            + ("Azure OpenAI" if hidden[0].startswith("AZURE") else "OpenAI"),
            ConfigurationWarning,
            stacklevel=2,
        )


def _azure_client(
    base_url: str, api_key: str | None, api_version: str | None
) -> openai.AsyncOpenAI:
    """A plain `AsyncOpenAI` on Azure's v1 API, by key or by Entra ID."""
    query = {"api-version": api_version} if api_version else None
    if api_key:
        headers = {"api-key": api_key}
        return openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key,
            default_headers=headers,
            default_query=query,
            max_retries=0,
        )
    return openai.AsyncOpenAI(
        base_url=base_url, api_key=_default_credential(), default_query=query, max_retries=0
    )


def _default_credential() -> Callable[[], Awaitable[str]]:
    """Entra ID tokens from `DefaultAzureCredential`, imported only here (it is heavy).

    The sync credential, run in a worker thread: `azure.identity.aio` needs `aiohttp`, which
    agentkit does not depend on, and tokens are fetched about once an hour anyway. A failed
    sign-in becomes one `ConfigurationError` saying why Entra ID was tried.
    """
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise ConfigurationError(ENTRA_MISSING) from None
    # azure-identity logs the failure it raises; with no logging set up that printed it twice.
    logging.getLogger("azure.identity").addHandler(logging.NullHandler())
    provider = entra_token_provider(DefaultAzureCredential())

    async def token() -> str:
        try:
            return await provider()
        except Exception as error:
            raise ConfigurationError(ENTRA_FAILED.format(reason=_indented(error))) from None

    return token


def _indented(error: Exception) -> str:
    return "\n".join("  " + line for line in str(error).strip().splitlines())


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
