"""Run an agent on Azure OpenAI: three environment variables, no code changes.

    export AZURE_OPENAI_ENDPOINT=https://YOUR-RESOURCE.openai.azure.com
    export AZURE_OPENAI_API_KEY=...            # or leave unset to sign in with Entra ID
    export AZURE_OPENAI_DEPLOYMENT=gpt-4o      # your deployment's name, used as `model`
    python examples/azure.py

agentkit calls Azure's v1 API at {endpoint}/openai/v1/ with the plain `openai` client. With a
key it sends the `api-key` header; without one it gets Microsoft Entra ID tokens from
`azure.identity.DefaultAzureCredential` (`az login`, a managed identity, or AZURE_CLIENT_ID /
AZURE_TENANT_ID / AZURE_CLIENT_SECRET), scope https://cognitiveservices.azure.com/.default.
AGENTKIT_BASE_URL, if set, takes precedence over the Azure variables.

Without AZURE_OPENAI_ENDPOINT, this runs the same code against agentkit's local server, which
also serves Azure's /openai/v1 routes and checks the api-key header.
"""

from __future__ import annotations

import os
import secrets

from agentkit import Agent
from agentkit.model import azure_v1_base_url


def main() -> None:
    endpoint = os.environ["AZURE_OPENAI_ENDPOINT"]
    deployment = os.environ.get("AZURE_OPENAI_DEPLOYMENT", "gpt-4o")
    auth = "api-key" if os.environ.get("AZURE_OPENAI_API_KEY") else "Entra ID"
    print(f"calling {azure_v1_base_url(endpoint)}responses, deployment {deployment!r}, {auth}")

    agent = Agent(model=deployment, instructions="Answer in one sentence.")
    result = agent.run_sync("What does Azure OpenAI's Responses API do?")
    print("assistant:", result.output)
    print("response id:", result.last_response_id)


def offline() -> None:
    """Explain the setup, then run `main()` against the local server's Azure-style routes."""
    print(__doc__)
    from agentkit.server import LocalServer

    key = secrets.token_urlsafe(16)
    with LocalServer(api_key=key) as server:
        os.environ.update(AZURE_OPENAI_ENDPOINT=server.url, AZURE_OPENAI_API_KEY=key)
        main()


if __name__ == "__main__":
    if os.environ.get("AZURE_OPENAI_ENDPOINT"):
        main()
    else:
        offline()
