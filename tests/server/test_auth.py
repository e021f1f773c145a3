"""The optional API key, checked like Azure's (`api-key` header or Bearer), and safe binding."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from openai import AzureOpenAI, OpenAI

from agentkit.server import LocalServer

KEY = "k-secret-9f2"
MISSING = {
    "message": "You didn't provide an API key. Provide it in the 'api-key' header or as "
    "'Authorization: Bearer KEY'.",
    "type": "invalid_request_error",
    "param": None,
    "code": "missing_api_key",
}
INCORRECT = {
    "message": "Incorrect API key provided.",
    "type": "invalid_request_error",
    "param": None,
    "code": "invalid_api_key",
}
BODY = {"model": "gpt-4o", "input": "hi"}


@pytest.fixture(scope="module")
def keyed() -> Iterator[LocalServer]:
    with LocalServer(api_key=KEY) as running:
        yield running


def serve_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`agentkit serve ARGS`, expected to refuse to start (it is never stopped)."""
    command = [sys.executable, "-m", "agentkit.cli", "serve", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)


def post(server: LocalServer, headers: dict[str, str]) -> httpx2.Response:
    return httpx2.post(f"{server.base_url}/responses", json=BODY, headers=headers)


def test_no_key_is_401(keyed: LocalServer) -> None:
    response = post(keyed, {})
    assert (response.status_code, response.json()) == (401, {"error": MISSING})


@pytest.mark.parametrize(
    "headers",
    [
        {"api-key": "wrong-key-123"},
        {"authorization": "Bearer wrong-key-123"},
        {"api-key": "wrong-key-123", "authorization": f"Bearer {KEY}"},
        {"api-key": ""},
        {"api-key": KEY + "x"},
        {"api-key": KEY[:-1]},
    ],
    ids=["api-key", "bearer", "api-key-wins", "empty", "longer", "shorter"],
)
def test_wrong_key_is_401_without_echoing_it(keyed: LocalServer, headers: dict[str, str]) -> None:
    response = post(keyed, headers)
    assert (response.status_code, response.json()) == (401, {"error": INCORRECT})
    assert "wrong-key" not in response.text
    assert KEY not in response.text


@pytest.mark.parametrize(
    "headers",
    [{"authorization": "Basic abc"}, {"authorization": KEY}],
    ids=["basic", "no-scheme"],
)
def test_authorization_that_is_not_bearer_counts_as_no_key(
    keyed: LocalServer, headers: dict[str, str]
) -> None:
    response = post(keyed, headers)
    assert (response.status_code, response.json()) == (401, {"error": MISSING})


def test_wrong_key_through_the_sdk_is_authentication_error(keyed: LocalServer) -> None:
    client = OpenAI(base_url=keyed.base_url, api_key="wrong-key-123", max_retries=0)
    with client, pytest.raises(openai.AuthenticationError) as caught:
        client.responses.create(model="gpt-4o", input="hi")
    assert caught.value.status_code == 401
    assert caught.value.body == INCORRECT
    assert "wrong-key-123" not in str(caught.value)


@pytest.mark.parametrize(
    "headers",
    [{"api-key": KEY}, {"authorization": f"Bearer {KEY}"}, {"authorization": f"bearer  {KEY}"}],
    ids=["api-key", "bearer", "bearer-lowercase-spaces"],
)
def test_right_key_is_served(keyed: LocalServer, headers: dict[str, str]) -> None:
    response = post(keyed, headers)
    assert response.status_code == 200
    assert response.json()["status"] == "completed"


def test_plain_openai_client_sends_bearer(keyed: LocalServer) -> None:
    with OpenAI(base_url=keyed.base_url, api_key=KEY, max_retries=0) as client:
        response = client.responses.create(model="gpt-4o", input="hi")
        assert client.responses.retrieve(response.id).id == response.id
        assert [item.id for item in client.responses.input_items.list(response.id)] != []


def test_azure_client_sends_api_key(keyed: LocalServer) -> None:
    seen: list[dict[str, Any]] = []

    def record(request: httpx2.Request) -> None:
        seen.append(dict(request.headers))

    http = httpx2.Client(event_hooks={"request": [record]})
    with AzureOpenAI(
        base_url=f"{keyed.url}/openai/v1",
        api_key=KEY,
        api_version="preview",
        max_retries=0,
        http_client=http,
    ) as client:
        response = client.responses.create(model="gpt-4o", input="hi")
        assert client.responses.retrieve(response.id).id == response.id
    assert response.status == "completed"
    assert seen[0]["api-key"] == KEY
    assert "authorization" not in seen[0]


def test_azure_client_with_a_wrong_key_is_401(keyed: LocalServer) -> None:
    client = AzureOpenAI(
        base_url=f"{keyed.url}/openai/v1", api_key="nope", api_version="preview", max_retries=0
    )
    with client, pytest.raises(openai.AuthenticationError) as caught:
        client.responses.create(model="gpt-4o", input="hi")
    assert caught.value.body == INCORRECT


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/responses/resp_1"),
        ("DELETE", "/responses/resp_1"),
        ("POST", "/responses/resp_1/cancel"),
        ("GET", "/responses/resp_1/input_items"),
    ],
)
def test_every_route_checks_the_key(keyed: LocalServer, method: str, path: str) -> None:
    response = httpx2.request(method, keyed.base_url + path)
    assert (response.status_code, response.json()) == (401, {"error": MISSING})


def test_key_is_checked_before_the_body_is_read(keyed: LocalServer) -> None:
    response = httpx2.post(f"{keyed.base_url}/responses", content=b"{not json")
    assert (response.status_code, response.json()) == (401, {"error": MISSING})


@pytest.mark.parametrize("key", ["", "  "])
def test_an_empty_key_is_refused_at_start(key: str) -> None:
    """`--api-key ""` used to start a server that let an empty `api-key` header in."""
    with pytest.raises(ValueError, match=r"the API key .* is empty"):
        LocalServer(api_key=key)


def test_cli_refuses_an_empty_key() -> None:
    result = serve_cli("--db", ":memory:", "--api-key", "", env={"PATH": ""})
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "agentkit serve: the API key (--api-key, AGENTKIT_SERVER_API_KEY or api_key=...) is "
        "empty: no request could match it. Pass a key, or none to accept every request.\n"
    )


def test_server_without_a_key_accepts_any(server: LocalServer) -> None:
    response = post(server, {"api-key": "anything"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "", "192.168.1.10", "::", "example.com", "127.attacker.example"]
)
def test_binding_beyond_loopback_without_a_key_raises(host: str) -> None:
    with pytest.raises(ValueError, match=r"refusing to bind .* without an API key"):
        LocalServer(host=host)


def test_binding_beyond_loopback_with_a_key_is_allowed() -> None:
    server = LocalServer(host="0.0.0.0", api_key=KEY)  # constructed, never started
    assert server.host == "0.0.0.0"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2", "::1"])
def test_loopback_needs_no_key(host: str) -> None:
    assert LocalServer(host=host).host == host


def test_cli_refuses_a_public_host_without_a_key() -> None:
    env = {"PATH": "", "AGENTKIT_SERVER_API_KEY": ""}
    result = serve_cli("--host", "0.0.0.0", "--db", ":memory:", env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "agentkit serve: refusing to bind '0.0.0.0' without an API key: anyone on the network "
        "could use this server. Pass --api-key (or api_key=...) or bind 127.0.0.1.\n"
    )
