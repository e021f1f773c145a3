"""Credentials in URLs and headers: which are found, how user info moves out of a URL."""

from __future__ import annotations

import base64

import pytest

from agentkit._secrets import header_secrets, scrub, url_credentials, url_secrets


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("token=x", ("token",)),
        ("api_key=x&version=2", ("api_key",)),
        ("apiKey=x", ("apiKey",)),
        ("access-token=x", ("access-token",)),
        ("X-Amz-Signature=x&X-Amz-Date=1", ("X-Amz-Signature",)),
        ("sig=x", ("sig",)),
        ("client_secret=x&password=y", ("client_secret", "password")),
        ("subscription-key=x", ("subscription-key",)),
        ("version=2&team=links&format=json", ()),
        ("token=", ()),  # nothing in it
    ],
)
def test_query_parameters_that_look_like_credentials(query: str, found: tuple[str, ...]) -> None:
    assert url_credentials(f"https://h/mcp?{query}").query_credentials == found


@pytest.mark.parametrize(
    ("url", "bare", "user_info"),
    [
        ("https://me:pw@h.example/mcp?v=2", "https://h.example/mcp?v=2", b"me:pw"),
        ("http://me:p%40ss%3A1@127.0.0.1:8000/mcp", "http://127.0.0.1:8000/mcp", b"me:p@ss:1"),
        ("https://TOKEN@h/mcp", "https://h/mcp", b"TOKEN:"),
        ("http://u:p@[::1]:9/mcp", "http://[::1]:9/mcp", b"u:p"),
    ],
)
def test_user_info_becomes_a_basic_authorization(url: str, bare: str, user_info: bytes) -> None:
    found = url_credentials(url)
    assert found.url == bare
    assert found.authorization == "Basic " + base64.b64encode(user_info).decode()


def test_a_url_without_user_info_is_kept_as_it_is() -> None:
    found = url_credentials("https://h/mcp?v=2#x")
    assert (found.url, found.authorization) == ("https://h/mcp?v=2#x", None)


def test_secrets_of_headers_and_urls() -> None:
    basic = base64.b64encode(b"me:pass-word").decode()
    headers = {"Authorization": f"Basic {basic}", "X-Key": "k3y-value"}
    assert header_secrets(headers) == [
        f"Basic {basic}",
        basic,
        "me:pass-word",
        "pass-word",
        "k3y-value",
    ]
    assert url_secrets("https://me:p%40ss@h/mcp?v=2") == ["p%40ss", "p@ss", "2"]
    assert url_secrets("https://TOKEN123@h/mcp") == ["TOKEN123", "TOKEN123"]


def test_scrub_replaces_the_longest_secrets_first_and_leaves_short_ones() -> None:
    secrets = ["Bearer abc-token", "abc-token", "on"]
    assert scrub("Bearer abc-token; abc-token; on", secrets) == "***; ***; on"
