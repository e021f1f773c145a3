"""The Containers API: containers and their files through `client.containers.*`, in the spec's
shapes, with expiry as the service does it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from code_interpreter_support import spec_validator
from openai import OpenAI

from agentkit.server import LocalServer

CSV = b"n,square\n1,1\n2,4\n"


@pytest.fixture(scope="module")
def spec() -> Any:
    return spec_validator()


@pytest.fixture(scope="module")
def brief() -> Iterator[LocalServer]:
    """A server whose containers expire after one idle second."""
    with LocalServer(container_idle_seconds=1.0) as running:
        yield running


@pytest.fixture
def brief_client(brief: LocalServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=brief.base_url, api_key="k", max_retries=0) as made:
        yield made


def test_create_retrieve_list_and_delete(client: OpenAI):
    created = client.containers.create(name="analysis")
    assert created.id.startswith("cntr_") and len(created.id) == 53
    assert (created.object, created.name, created.status) == ("container", "analysis", "running")
    assert created.expires_after is not None
    assert (created.expires_after.anchor, created.expires_after.minutes) == ("last_active_at", 20)
    assert created.memory_limit == "1g"
    assert created.last_active_at == created.created_at
    assert client.containers.retrieve(created.id).id == created.id
    assert created.id in [c.id for c in client.containers.list()]
    assert [c.id for c in client.containers.list(name="analysis")][:1] == [created.id]
    assert client.containers.delete(created.id) is None
    with pytest.raises(openai.NotFoundError, match=f"Container with id '{created.id}' not found."):
        client.containers.retrieve(created.id)


def test_options_are_kept_and_checked(client: OpenAI):
    made = client.containers.create(
        name="big", expires_after={"anchor": "last_active_at", "minutes": 5}, memory_limit="4g"
    )
    assert (made.expires_after.minutes, made.memory_limit) == (5, "4g")  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError, match="Supported values are: '1g', '4g'"):
        client.containers.create(name="x", memory_limit="2g")  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError, match="Missing required parameter: 'name'"):
        client.post("/containers", body={}, cast_to=object)
    with pytest.raises(openai.BadRequestError, match="no network"):
        client.containers.create(
            name="x", network_policy={"type": "allowlist", "allowed_domains": ["example.com"]}
        )
    with pytest.raises(openai.NotFoundError, match=r"File with id 'file-nope' not found\."):
        client.containers.create(name="x", file_ids=["file-nope"])


def test_files_by_upload_by_file_id_and_from_create(client: OpenAI):
    uploaded = client.files.create(file=("squares.csv", CSV), purpose="assistants")
    container = client.containers.create(name="files", file_ids=[uploaded.id])
    [copied] = client.containers.files.list(container.id).data
    assert (copied.path, copied.bytes, copied.source) == ("/mnt/data/squares.csv", len(CSV), "user")
    assert copied.id.startswith("cfile_") and len(copied.id) == 38
    added = client.containers.files.create(container.id, file=("notes.txt", b"remember"))
    assert (added.object, added.container_id, added.path) == (
        "container.file",
        container.id,
        "/mnt/data/notes.txt",
    )
    again = client.containers.files.create(container.id, file_id=uploaded.id)
    assert again.id == copied.id  # the same path: the same file, written again
    listed = client.containers.files.list(container.id, order="asc")
    assert [f.path for f in listed] == ["/mnt/data/squares.csv", "/mnt/data/notes.txt"]
    content = client.containers.files.content.retrieve(added.id, container_id=container.id)
    assert content.read() == b"remember"
    assert client.containers.files.retrieve(added.id, container_id=container.id).bytes == 8
    assert client.containers.files.delete(added.id, container_id=container.id) is None
    with pytest.raises(openai.NotFoundError):
        client.containers.files.retrieve(added.id, container_id=container.id)
    assert [f.path for f in client.containers.files.list(container.id)] == ["/mnt/data/squares.csv"]


def test_a_file_id_must_exist(client: OpenAI):
    container = client.containers.create(name="x")
    with pytest.raises(openai.NotFoundError, match=r"File with id 'file-gone' not found\."):
        client.containers.files.create(container.id, file_id="file-gone")
    with pytest.raises(openai.BadRequestError, match="either a multipart upload"):
        client.post(f"/containers/{container.id}/files", body={}, cast_to=object)


def test_bodies_validate_against_the_spec(server: LocalServer, spec: Any):
    with httpx2.Client(base_url=server.base_url, timeout=10) as http:
        container = http.post("/containers", json={"name": "spec"}).json()
        assert spec.errors("ContainerResource", container) == []
        assert spec.errors("ContainerListResource", http.get("/containers").json()) == []
        path = f"/containers/{container['id']}/files"
        made = http.post(path, files={"file": ("a.txt", b"a")}).json()
        assert spec.errors("ContainerFileResource", made) == []
        assert list(made) == [
            "id",
            "object",
            "created_at",
            "bytes",
            "container_id",
            "path",
            "source",
        ]
        assert spec.errors("ContainerFileListResource", http.get(path).json()) == []
        deleted = http.delete(f"{path}/{made['id']}").json()
        assert deleted == {"id": made["id"], "object": "container.file.deleted", "deleted": True}
        gone = http.delete(f"/containers/{container['id']}").json()
        assert gone == {"id": container["id"], "object": "container.deleted", "deleted": True}


def test_an_idle_container_expires_and_its_files_go(brief: LocalServer, brief_client: OpenAI):
    container = brief_client.containers.create(name="short")
    brief_client.containers.files.create(container.id, file=("a.txt", b"a"))
    folder = brief.state.services["containers"].root / container.id
    assert folder.exists()
    time.sleep(1.3)
    retrieved = brief_client.containers.retrieve(container.id)
    assert retrieved.status == "expired"
    assert not folder.exists()
    with pytest.raises(openai.BadRequestError) as expired:
        brief_client.containers.files.list(container.id)
    assert expired.value.code == "container_expired"
    assert f"Container '{container.id}' has expired" in expired.value.message
    with pytest.raises(openai.BadRequestError, match="has expired"):
        brief_client.containers.files.create(container.id, file=("b.txt", b"b"))
    assert brief_client.containers.delete(container.id) is None


def test_use_keeps_a_container_alive(brief_client: OpenAI):
    container = brief_client.containers.create(name="busy")
    for _ in range(3):
        time.sleep(0.5)
        brief_client.containers.files.create(container.id, file=("tick.txt", b"t"))
    assert brief_client.containers.retrieve(container.id).status == "running"


def test_the_page_mentions_azure_routes(server: LocalServer):
    with OpenAI(base_url=server.url + "/openai/v1", api_key="k") as azure_style:
        made = azure_style.containers.create(name="azure")
        assert azure_style.containers.retrieve(made.id).name == "azure"
