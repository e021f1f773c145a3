"""Where the agent's client comes from: the environment, Entra ID tokens, a user's client."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from agentkit import Agent, ConfigurationError, ModelCallError
from agentkit.server import LocalServer


@dataclass(frozen=True)
class Token:
    token: str
    expires_on: int


class FakeCredential:
    """Stands in for an `azure.identity` credential: hands out a fixed token."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []
        self.threads: list[int] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Token:
        self.scopes.append(scopes)
        self.threads.append(threading.get_ident())
        return Token(self.token, int(time.time()) + 3600)


@pytest.fixture(scope="module")
def keyed() -> Any:
    with LocalServer(api_key="tok-1") as running:
        yield running


async def test_agentkit_base_url_alone_is_enough(
    server: LocalServer, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("AGENTKIT_BASE_URL", server.base_url)
    async with Agent(model="gpt-4o") as agent:
        result = await agent.run("hello")
    assert result.output == 'You said: "hello".'
    assert len(server.requests) == 1


async def test_no_endpoint_is_a_configuration_error(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="No model endpoint is configured"):
        await Agent(model="gpt-4o").run("hello")


@pytest.mark.parametrize("token", ["tok-1", "tok-2"])
async def test_entra_id_token_reaches_the_server(
    keyed: LocalServer, clean_env: pytest.MonkeyPatch, token: str
) -> None:
    import azure.identity

    credential = FakeCredential(token)
    clean_env.setattr(azure.identity, "DefaultAzureCredential", lambda: credential)
    clean_env.setenv("AZURE_OPENAI_ENDPOINT", keyed.url)
    keyed.state.requests.clear()

    async with Agent(model="gpt-4o") as agent:
        if token == "tok-1":
            result = await agent.run("hello")
            again = await agent.run("again", conversation=result.conversation)
            assert again.output.startswith('You said: "again".')
            assert len(keyed.requests) == 2
        else:  # the server checks the bearer token: a wrong one is refused
            with pytest.raises(ModelCallError, match="Incorrect API key provided") as caught:
                await agent.run("hello")
            assert caught.value.status_code == 401
            assert keyed.requests == []
    assert credential.scopes == [("https://cognitiveservices.azure.com/.default",)]
    assert threading.get_ident() not in credential.threads


def test_sync_client_is_accepted(server: LocalServer) -> None:
    with openai.OpenAI(base_url=server.base_url, api_key="k") as client:
        result = Agent(model="gpt-4o", client=client).run_sync("hello")
    assert result.output == 'You said: "hello".'
