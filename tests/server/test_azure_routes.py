"""Azure's deployment-style client (`azure_endpoint=`) reaches the server under `/openai`."""

from __future__ import annotations

from openai import AzureOpenAI

from agentkit.server import LocalServer


def test_azure_endpoint_client_routes(server: LocalServer) -> None:
    client = AzureOpenAI(azure_endpoint=server.url, api_key="k", api_version="2025-04-01-preview")
    created = client.responses.create(model="gpt-4o", input="This is a test")
    assert created.output_text == 'You said: "This is a test".'
    assert client.responses.retrieve(created.id).id == created.id
    items = client.responses.input_items.list(created.id)
    assert [item.type for item in items.data] == ["message"]
    client.responses.delete(created.id)
