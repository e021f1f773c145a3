"""The Files API: uploads through the `openai` SDK, bodies in the spec's shapes, the service's errors."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from code_interpreter_support import spec_validator
from openai import AzureOpenAI, OpenAI

from agentkit.server import LocalServer, ServerConfig

CSV = b"city,temperature\nAmsterdam,12\nPrague,9\n"


@pytest.fixture(scope="module")
def spec() -> Any:
    return spec_validator()


@pytest.fixture
def http(server: LocalServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.base_url, timeout=10) as client:
        yield client


def upload(client: OpenAI, name: str = "weather.csv", data: bytes = CSV, **options: Any) -> Any:
    return client.files.create(
        file=(name, data), purpose=options.pop("purpose", "assistants"), **options
    )


def test_upload_retrieve_download_list_and_delete(client: OpenAI):
    created = upload(client)
    assert created.id.startswith("file-") and len(created.id) == 27
    assert (created.object, created.filename, created.bytes) == ("file", "weather.csv", len(CSV))
    assert (created.purpose, created.status, created.expires_at) == (
        "assistants",
        "processed",
        None,
    )
    assert client.files.retrieve(created.id) == created
    assert client.files.content(created.id).read() == CSV
    assert created.id in [f.id for f in client.files.list()]
    deleted = client.files.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "file", True)
    with pytest.raises(openai.NotFoundError, match=f"No such File object: {created.id}"):
        client.files.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(created.id)
    with pytest.raises(openai.NotFoundError):
        client.files.delete(created.id)


def test_an_open_file_uploads_under_its_name(client: OpenAI, tmp_path: Path):
    path = tmp_path / "report.txt"
    path.write_bytes(b"a report")
    with open(path, "rb") as handle:
        created = client.files.create(file=handle, purpose="user_data")
    assert (created.filename, created.purpose, created.bytes) == ("report.txt", "user_data", 8)


def test_bodies_validate_against_the_spec(http: httpx2.Client, spec: Any):
    answer = http.post("/files", files={"file": ("a.csv", CSV)}, data={"purpose": "assistants"})
    assert answer.status_code == 200
    body = answer.json()
    assert spec.errors("OpenAIFile", body) == []
    assert list(body) == ["id", "object", "bytes", "created_at", "filename", "purpose", "status"]
    assert spec.errors("ListFilesResponse", http.get("/files").json()) == []
    assert spec.errors("DeleteFileResponse", http.delete(f"/files/{body['id']}").json()) == []


def test_list_filters_by_purpose_and_pages_like_the_service():
    with LocalServer() as fresh, OpenAI(base_url=fresh.base_url, api_key="k") as client:
        made = [upload(client, f"f{i}.txt", b"x", purpose="assistants") for i in range(3)]
        vision = upload(client, "cat.png", b"png", purpose="vision")
        newest_first = [f.id for f in client.files.list()]
        assert newest_first == [vision.id, *[f.id for f in reversed(made)]]
        assert [f.id for f in client.files.list(purpose="vision")] == [vision.id]
        page = client.files.list(purpose="assistants", limit=2, order="asc")
        assert [f.id for f in page.data] == [made[0].id, made[1].id] and page.has_more
        everything = list(client.files.list(purpose="assistants", order="asc", limit=1))
        assert [f.id for f in everything] == [f.id for f in made]


def test_a_bad_purpose_is_refused(http: httpx2.Client):
    answer = http.post("/files", files={"file": ("a", b"x")}, data={"purpose": "pictures"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["param"] == "purpose"
    assert error["message"] == (
        "Invalid value: 'pictures'. Supported values are: 'assistants', 'batch', 'fine-tune', "
        "'vision', 'user_data', and 'evals'."
    )


@pytest.mark.parametrize(
    ("files", "data", "param"),
    [({"file": ("a", b"x")}, {}, "purpose"), (None, {"purpose": "assistants"}, "file")],
)
def test_missing_parts_are_named(http: httpx2.Client, files: Any, data: Any, param: str):
    if files is None:
        answer = http.post("/files", data=data, files={"other": ("x", b"x")})
    else:
        answer = http.post("/files", files=files, data=data)
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "message": f"Missing required parameter: '{param}'.",
        "type": "invalid_request_error",
        "param": param,
        "code": "missing_required_parameter",
    }


@pytest.mark.parametrize(
    ("content_type", "content", "reason"),
    [
        ("multipart/form-data", b"junk", "Missing boundary in multipart."),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nx\r\n'
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="b"\r\n\r\ny\r\n'
            b"--b--\r\n",
            "Too many files. Maximum number of files is 1.",
        ),
        (
            "multipart/form-data; boundary=b",
            b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n",
            'The Content-Disposition header field "name" must be provided.',
        ),
    ],
    ids=["no-boundary", "two-files", "no-name"],
)
def test_an_unreadable_multipart_body_is_the_services_400(
    http: httpx2.Client, content_type: str, content: bytes, reason: str
):
    """These were 500s: Starlette's own 400 went through the catch-all."""
    answer = http.post("/files", content=content, headers={"content-type": content_type})
    assert (answer.status_code, answer.json()) == (
        400,
        {
            "error": {
                "message": f"Could not parse the multipart body: {reason}",
                "type": "invalid_request_error",
                "param": "file",
                "code": None,
            }
        },
    )


def test_a_json_body_is_not_an_upload(http: httpx2.Client):
    answer = http.post("/files", json={"purpose": "assistants"})
    assert answer.status_code == 400
    assert "multipart/form-data" in answer.json()["error"]["message"]


def test_files_over_the_cap_are_refused():
    with (
        LocalServer(max_file_bytes=1000) as small,
        OpenAI(base_url=small.base_url, api_key="k") as client,
    ):
        with pytest.raises(openai.APIStatusError) as refused:
            upload(client, "big.bin", b"x" * 1001)
        assert refused.value.status_code == 413
        assert refused.value.code == "file_too_large"
        assert list(client.files.list()) == []
        assert upload(client, "fits.bin", b"x" * 1000).bytes == 1000
        assert len(list(Path(small.state.services["files"].blobs).iterdir())) == 1


def test_expiring_files_say_when(client: OpenAI):
    created = upload(client, expires_after={"anchor": "created_at", "seconds": 3600})
    assert created.expires_at == created.created_at + 3600
    with pytest.raises(openai.BadRequestError, match="between 3600 and 2592000"):
        upload(client, expires_after={"anchor": "created_at", "seconds": 60})


def test_azure_refuses_user_data_as_its_page_says():
    with (
        LocalServer(ServerConfig(azure=True)) as azure,
        OpenAI(base_url=azure.url + "/openai/v1", api_key="k") as client,
    ):
        with pytest.raises(openai.BadRequestError) as refused:
            upload(client, purpose="user_data")
        assert refused.value.param == "purpose"
        accepted = upload(client, purpose="assistants")
        assert accepted.id.startswith("assistant-")  # as in the page's sample output
        assert upload(client, purpose="vision").id.startswith("file-")


def test_the_pages_curl_upload_and_the_azure_client_reach_the_same_files(server: LocalServer):
    # curl .../openai/files?api-version=2024-10-21 -F purpose="assistants" -F file="@your_file.pdf"
    with httpx2.Client(timeout=10) as curl:
        answer = curl.post(
            server.url + "/openai/files?api-version=2024-10-21",
            headers={"Authorization": "Bearer token"},
            data={"purpose": "assistants"},
            files={"file": ("your_file.pdf", b"%PDF-1.4 tiny")},
        )
    assert answer.status_code == 200, answer.text
    file_id = answer.json()["id"]
    azure = AzureOpenAI(
        azure_endpoint=server.url, api_key="k", api_version="2024-10-21", max_retries=0
    )
    with azure:
        assert azure.files.retrieve(file_id).filename == "your_file.pdf"
        assert azure.files.content(file_id).read() == b"%PDF-1.4 tiny"


def test_files_outlive_a_restart_with_a_database_file(tmp_path: Path):
    db = str(tmp_path / "agentkit.db")
    with LocalServer(db=db) as first, OpenAI(base_url=first.base_url, api_key="k") as client:
        created = upload(client)
    assert (tmp_path / "agentkit.db.files" / "files" / created.id).read_bytes() == CSV
    with LocalServer(db=db) as second, OpenAI(base_url=second.base_url, api_key="k") as client:
        assert client.files.retrieve(created.id).filename == "weather.csv"
        assert client.files.content(created.id).read() == CSV


def test_a_memory_server_leaves_no_files_behind():
    with LocalServer() as running, OpenAI(base_url=running.base_url, api_key="k") as client:
        upload(client)
        root = Path(running.state.services["files"].root)
        assert root.exists()
    assert not root.exists()


def test_uploads_stream_to_disk(client: OpenAI):
    big = io.BytesIO(b"0123456789" * 300_000)
    created = client.files.create(file=("big.bin", big), purpose="batch")
    assert created.bytes == 3_000_000
    assert client.files.content(created.id).read() == b"0123456789" * 300_000
