"""Credentials in headers and URLs: found, moved out of URLs, and scrubbed from text.

Shared by the agent's tools and the local server (it imports neither), so both treat the same
values as secret: every header value and the token after its scheme, a Basic credential's
parts, a URL's user info and its query values.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

REDACTED = "***"
MIN_SECRET = 4
"""Shorter values are not scrubbed: replacing every "on" or "1" would mangle the text."""

_CREDENTIAL_SUFFIXES = (
    "token", "key", "secret", "password", "passwd", "pwd", "signature", "sig", "auth",
    "authorization", "credential", "credentials", "jwt",
)  # fmt: skip
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


@dataclass(frozen=True)
class URLCredentials:
    """A URL split from the credentials it carries."""

    url: str
    """The URL without user info."""
    authorization: str | None
    """`Basic ...` for the user info it had, else None."""
    query_credentials: tuple[str, ...]
    """Names of query parameters that look like credentials (`token`, `api_key`, `sig`, ...)."""


def url_credentials(url: str) -> URLCredentials:
    """What credentials `url` carries, and the URL without its user info."""
    parts = urlsplit(url)
    names = tuple(name for name, _ in parse_qsl(parts.query) if _is_credential_name(name))
    if parts.username is None and parts.password is None:
        return URLCredentials(url, None, names)
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    host = parts.netloc.rpartition("@")[2]
    bare = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return URLCredentials(bare, f"Basic {token}", names)


def has_header(headers: Mapping[str, str], name: str) -> bool:
    """Whether `headers` sets `name` (HTTP header names are case-insensitive)."""
    return any(key.lower() == name.lower() for key in headers)


def header_secrets(headers: Mapping[str, str]) -> list[str]:
    """Each value, the token after its scheme ("Bearer <token>"), a Basic credential's parts."""
    found: list[str] = []
    for value in headers.values():
        scheme, _, token = value.strip().partition(" ")
        token = token.strip()
        found += [value, token]
        if scheme.lower() == "basic":
            found += _basic_parts(token)
    return [secret for secret in found if secret]


def url_secrets(url: str) -> list[str]:
    """The user info of `url` (as written and decoded) and its query values."""
    parts = urlsplit(url)
    found = [parts.password or "", unquote(parts.password or "")]
    if parts.password is None:  # a lone user name is a token (`https://TOKEN@host`)
        found += [parts.username or "", unquote(parts.username or "")]
    found += [value for _, value in parse_qsl(parts.query)]
    return [secret for secret in found if secret]


def scrub(text: str, secrets: Iterable[str], *, min_length: int = MIN_SECRET) -> str:
    """`text` with each secret (of at least `min_length` characters) replaced by `***`."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= min_length:
            text = text.replace(secret, REDACTED)
    return text


def _basic_parts(token: str) -> list[str]:
    """`user:password` and the password (or the lone user name) of a Basic credential."""
    try:
        decoded = base64.b64decode(token, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return []
    user, _, password = decoded.partition(":")
    return [decoded, password or user]


def _is_credential_name(name: str) -> bool:
    return _NOT_ALNUM.sub("", name.lower()).endswith(_CREDENTIAL_SUFFIXES)
