"""Routes of the Files API and the Containers API, over `files.py` and `containers.py`.

Bodies are the spec's `OpenAIFile`, `ListFilesResponse`, `DeleteFileResponse`,
`ContainerResource`, `ContainerListResource`, `ContainerFileResource` and
`ContainerFileListResource`. Uploads are multipart (`file` plus `purpose`), at most
`ServerConfig.max_file_bytes` (512 MB by default, the service's cap) each.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from agentkit.server.config import ServerState
from agentkit.server.errors import (
    APIError,
    invalid,
    invalid_type,
    invalid_value,
    missing,
    not_found,
    unknown_parameter,
)
from agentkit.server.hosted.code_interpreter.containers import MEMORY_LIMITS, Containers
from agentkit.server.http.json import json_body, json_response, list_page
from agentkit.server.protocol import azure
from agentkit.server.state.files import MAX_EXPIRY, MIN_EXPIRY, PURPOSES, FileStore, too_large

Handler = Callable[[Request], Awaitable[Response]]
MULTIPART_OVERHEAD = 64 * 1024
"""Room for the multipart framing and form fields on top of the file itself."""
MAX_FILES_PAGE = 10_000
MAX_CONTAINER_MINUTES = 1440


def _files(request: Request) -> FileStore:
    state: ServerState = request.app.state.server
    files: FileStore = state.services["files"]
    return files


def _containers(request: Request) -> Containers:
    state: ServerState = request.app.state.server
    containers: Containers = state.services["containers"]
    return containers


# --- files ---------------------------------------------------------------------------------------


async def create_file(request: Request) -> Response:
    state: ServerState = request.app.state.server
    cap = state.config.max_file_bytes
    form = await _form(request, cap)
    try:
        purpose = form.get("purpose")
        if purpose is None:
            raise missing("purpose")
        if not isinstance(purpose, str) or purpose not in PURPOSES:
            raise invalid_value("purpose", purpose, list(PURPOSES))
        if state.config.azure:
            azure.check_file_purpose(purpose)
        upload = _upload(form)
        record = await asyncio.to_thread(
            _files(request).create,
            upload.filename or "upload",
            upload.file,
            purpose,
            max_bytes=cap,
            expires_after=_file_expiry(form),
            # Azure names assistants files `assistant-…` (its page's upload sample shows one).
            id_prefix="assistant" if state.config.azure and purpose == "assistants" else "file",
        )
    finally:
        await form.close()  # the spooled copy of the upload
    return json_response(record.body())


async def list_files(request: Request) -> Response:
    query = request.query_params
    purpose = query.get("purpose")
    records = _files(request).listing(purpose)
    page = list_page(
        [r.body() for r in records], query, default_limit=MAX_FILES_PAGE, max_limit=MAX_FILES_PAGE
    )
    return json_response(page)


async def retrieve_file(request: Request) -> Response:
    return json_response(_file(request).body())


async def file_content(request: Request) -> Response:
    record = _file(request)
    return FileResponse(_files(request).path(record.id), media_type=_media_type(record.filename))


async def delete_file(request: Request) -> Response:
    record = _file(request)
    await asyncio.to_thread(_files(request).delete, record.id)
    return json_response({"id": record.id, "object": "file", "deleted": True})


def _file(request: Request) -> Any:
    file_id = request.path_params["file_id"]
    record = _files(request).get(file_id)
    if record is None:
        raise not_found(f"No such File object: {file_id}", "id")
    return record


def _file_expiry(form: FormData) -> int | None:
    anchor = form.get("expires_after[anchor]")
    seconds = form.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    if anchor != "created_at":
        raise invalid_value("expires_after.anchor", anchor, ["created_at"])
    try:
        value = int(str(seconds))
    except ValueError:
        raise invalid_type("expires_after.seconds", "an integer", seconds) from None
    if not MIN_EXPIRY <= value <= MAX_EXPIRY:
        raise invalid(
            f"Invalid 'expires_after.seconds': {value} must be between {MIN_EXPIRY} and "
            f"{MAX_EXPIRY}.",
            "expires_after.seconds",
            "invalid_value",
        )
    return value


# --- containers ----------------------------------------------------------------------------------

CONTAINER_FIELDS = ("name", "file_ids", "expires_after", "memory_limit", "network_policy", "skills")


async def create_container(request: Request) -> Response:
    state: ServerState = request.app.state.server
    body = await json_body(request, state.config.max_body_bytes)
    options = _container_options(body)
    record = await asyncio.to_thread(_containers(request).create, **options)
    return json_response(record.body())


def _container_options(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid_type("(root)", "an object", body)
    for name in body:
        if name not in CONTAINER_FIELDS:
            raise unknown_parameter(name)
    if "name" not in body:
        raise missing("name")
    if not isinstance(body["name"], str):
        raise invalid_type("name", "a string", body["name"])
    options: dict[str, Any] = {"name": body["name"]}
    file_ids = body.get("file_ids", [])
    if not isinstance(file_ids, list) or not all(isinstance(f, str) for f in file_ids):
        raise invalid_type("file_ids", "an array of strings", file_ids)
    options["file_ids"] = file_ids
    if "expires_after" in body:
        options["idle_seconds"] = _container_expiry(body["expires_after"])
    memory = body.get("memory_limit", "1g")
    if memory not in MEMORY_LIMITS:
        raise invalid_value("memory_limit", memory, list(MEMORY_LIMITS))
    options["memory_limit"] = memory
    policy = body.get("network_policy", {"type": "disabled"})
    if not isinstance(policy, dict) or policy.get("type") != "disabled":
        raise invalid(
            "Only network_policy {'type': 'disabled'} is supported: code in this server's "
            "containers has no network.",
            "network_policy",
            "unsupported_value",
        )
    if body.get("skills"):
        raise invalid("Skills are not supported by this server.", "skills", "unsupported_value")
    return options


def _container_expiry(value: Any) -> float:
    if not isinstance(value, dict):
        raise invalid_type("expires_after", "an object", value)
    for name in ("anchor", "minutes"):
        if name not in value:
            raise missing(f"expires_after.{name}")
    if value["anchor"] != "last_active_at":
        raise invalid_value("expires_after.anchor", value["anchor"], ["last_active_at"])
    minutes = value["minutes"]
    if (
        not isinstance(minutes, int)
        or isinstance(minutes, bool)
        or not 1 <= minutes <= MAX_CONTAINER_MINUTES
    ):
        raise invalid(
            "Invalid 'expires_after.minutes': expected an integer between 1 and {MAX_CONTAINER_MINUTES}.",
            "expires_after.minutes",
            "invalid_value",
        )
    return minutes * 60.0


async def list_containers(request: Request) -> Response:
    records = _containers(request).listing(request.query_params.get("name"))
    return json_response(list_page([r.body() for r in records], request.query_params))


async def retrieve_container(request: Request) -> Response:
    return json_response(_containers(request).get(request.path_params["container_id"]).body())


async def delete_container(request: Request) -> Response:
    container_id = request.path_params["container_id"]
    await asyncio.to_thread(_containers(request).delete, container_id)
    return json_response({"id": container_id, "object": "container.deleted", "deleted": True})


async def create_container_file(request: Request) -> Response:
    state: ServerState = request.app.state.server
    containers = _containers(request)
    container_id = request.path_params["container_id"]
    containers.active(container_id)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await _form(request, state.config.max_file_bytes)
        try:
            upload = _upload(form)
            entry = await asyncio.to_thread(
                containers.add_file, container_id, upload.filename or "upload", upload.file
            )
        finally:
            await form.close()
        return json_response(entry.body())
    body = await json_body(request, state.config.max_body_bytes)
    if not isinstance(body, dict) or "file_id" not in body:
        raise invalid(
            "Send either a multipart upload with 'file', or a JSON body with 'file_id'.", "file"
        )
    if not isinstance(body["file_id"], str):
        raise invalid_type("file_id", "a string", body["file_id"])
    entry = await asyncio.to_thread(containers.copy_upload, container_id, body["file_id"])
    return json_response(entry.body())


async def list_container_files(request: Request) -> Response:
    containers = _containers(request)
    container_id = request.path_params["container_id"]
    containers.active(container_id)
    entries = containers.files(container_id)
    return json_response(list_page([e.body() for e in entries], request.query_params))


async def retrieve_container_file(request: Request) -> Response:
    entry = _containers(request).file(
        request.path_params["container_id"], request.path_params["file_id"]
    )
    return json_response(entry.body())


async def container_file_content(request: Request) -> Response:
    containers = _containers(request)
    entry = containers.file(request.path_params["container_id"], request.path_params["file_id"])
    return FileResponse(containers.content_path(entry), media_type=_media_type(entry.filename))


async def delete_container_file(request: Request) -> Response:
    container_id = request.path_params["container_id"]
    file_id = request.path_params["file_id"]
    await asyncio.to_thread(_containers(request).delete_file, container_id, file_id)
    return json_response({"id": file_id, "object": "container.file.deleted", "deleted": True})


# --- plumbing ------------------------------------------------------------------------------------


async def _form(request: Request, cap: int) -> FormData:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise invalid("The request must be multipart/form-data, with a 'file' part.", "file")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap + MULTIPART_OVERHEAD:
        raise too_large(cap)
    try:
        return await request.form(max_files=1, max_fields=16)
    except MultiPartException as error:
        raise _unparseable(error.message) from None
    except HTTPException as error:  # Starlette's wrapping of a MultiPartException in an app
        raise _unparseable(error.detail) from None


def _unparseable(reason: str) -> APIError:
    return invalid(f"Could not parse the multipart body: {reason}", "file")


def _upload(form: FormData) -> UploadFile:
    upload = form.get("file")
    if upload is None:
        raise missing("file")
    if not isinstance(upload, UploadFile):
        raise invalid_type("file", "a file", upload)
    return upload


def _media_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


ROUTES: list[tuple[str, Handler, list[str]]] = [
    ("/files", create_file, ["POST"]),
    ("/files", list_files, ["GET"]),
    ("/files/{file_id}", retrieve_file, ["GET"]),
    ("/files/{file_id}", delete_file, ["DELETE"]),
    ("/files/{file_id}/content", file_content, ["GET"]),
    ("/containers", create_container, ["POST"]),
    ("/containers", list_containers, ["GET"]),
    ("/containers/{container_id}", retrieve_container, ["GET"]),
    ("/containers/{container_id}", delete_container, ["DELETE"]),
    ("/containers/{container_id}/files", create_container_file, ["POST"]),
    ("/containers/{container_id}/files", list_container_files, ["GET"]),
    ("/containers/{container_id}/files/{file_id}", retrieve_container_file, ["GET"]),
    ("/containers/{container_id}/files/{file_id}", delete_container_file, ["DELETE"]),
    ("/containers/{container_id}/files/{file_id}/content", container_file_content, ["GET"]),
]
"""Paths under each API prefix (`/v1`, `/openai/v1`, `/openai`), handlers and methods."""
