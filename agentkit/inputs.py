"""Images and PDFs as user input: content parts built from a path, URL, bytes or uploaded file.

    agent.run([user_message("What is in this image?", image("cat.png"))])
    agent.run([user_message(pdf("report.pdf"), "Summarize this PDF")])

Formats are told by their bytes (magic numbers), never by a file's name or extension.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

import openai

from agentkit.errors import UserError

Part = dict[str, Any]
Source = str | os.PathLike[str] | bytes
Detail = Literal["auto", "low", "high", "original"]

IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}
URL_SCHEMES = ("http://", "https://")


@dataclass(frozen=True)
class UploadedFile:
    """A file uploaded with the Files API: refer to it by `id` in `image(...)` or `pdf(...)`."""

    id: str
    filename: str
    kind: str
    """What its bytes are: `png`, `jpeg`, `gif`, `webp`, `pdf` or `other`."""


def sniff(data: bytes) -> str:
    """The format of `data` by its magic bytes: png, jpeg, gif, webp, pdf, or `other`."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"%PDF-"):
        return "pdf"
    return "other"


def image(source: Source | UploadedFile, detail: Detail = "auto") -> Part:
    """An `input_image` part from a path, bytes, an http(s) or data URL, or an uploaded file.

    Local images are sent inline as a base64 data URL; http(s) URLs are sent as they are (the
    service fetches them).

    Args:
        source: A path, the image's bytes, a URL, or what `upload` returned.
        detail: "auto", "low", "high" or "original": how closely the model looks.
    """
    if isinstance(source, UploadedFile):
        _expect_image(source.kind, f"uploaded file {source.id} ({source.filename!r})")
        return {"type": "input_image", "file_id": source.id, "detail": detail}
    if isinstance(source, str) and source.startswith((*URL_SCHEMES, "data:")):
        return {"type": "input_image", "image_url": source, "detail": detail}
    data, where = _read(source)
    kind = sniff(data)
    _expect_image(kind, where)
    url = f"data:{IMAGE_TYPES[kind]};base64,{base64.b64encode(data).decode()}"
    return {"type": "input_image", "image_url": url, "detail": detail}


def pdf(source: Source | UploadedFile, filename: str | None = None) -> Part:
    """An `input_file` part with a PDF: inline as base64 `file_data`, or by uploaded file id.

    Args:
        source: A path, the PDF's bytes, an http(s) URL (`file_url`), or what `upload` returned.
        filename: The name the model sees; defaults to the path's name (or "document.pdf").
    """
    if isinstance(source, UploadedFile):
        _expect_pdf(source.kind, f"uploaded file {source.id} ({source.filename!r})")
        return {"type": "input_file", "file_id": source.id}
    if isinstance(source, str) and source.startswith(URL_SCHEMES):
        return {"type": "input_file", "file_url": source}
    data, where = _read(source)
    _expect_pdf(sniff(data), where)
    name = filename or (Path(source).name if not isinstance(source, bytes) else "document.pdf")
    encoded = base64.b64encode(data).decode()
    return {
        "type": "input_file",
        "filename": name,
        "file_data": f"data:application/pdf;base64,{encoded}",
    }


def user_message(*parts: str | Part) -> Part:
    """A user message of text and parts, e.g. `user_message("What is this?", image("a.png"))`."""
    if not parts:
        raise UserError("user_message() needs at least one text or part")
    content = [{"type": "input_text", "text": p} if isinstance(p, str) else p for p in parts]
    return {"type": "message", "role": "user", "content": content}


@overload
def upload(
    client: openai.OpenAI, source: Source, *, purpose: str = ..., filename: str | None = ...
) -> UploadedFile: ...
@overload
def upload(
    client: openai.AsyncOpenAI, source: Source, *, purpose: str = ..., filename: str | None = ...
) -> Awaitable[UploadedFile]: ...
def upload(
    client: openai.OpenAI | openai.AsyncOpenAI,
    source: Source,
    *,
    purpose: str = "assistants",
    filename: str | None = None,
) -> UploadedFile | Awaitable[UploadedFile]:
    """Upload a file with the Files API (await it with an async client).

    `purpose` defaults to "assistants", which both services take for PDFs and images (Azure
    refuses "user_data").
    """
    data, _ = _read(source)
    name = filename or (Path(source).name if not isinstance(source, bytes) else _default_name(data))
    kind = sniff(data)
    file: tuple[str, bytes] = (name, data)
    if isinstance(client, openai.AsyncOpenAI):

        async def sent() -> UploadedFile:
            created = await client.files.create(file=file, purpose=purpose)  # type: ignore[arg-type]
            return UploadedFile(created.id, name, kind)

        return sent()
    created = client.files.create(file=file, purpose=purpose)  # type: ignore[arg-type]
    return UploadedFile(created.id, name, kind)


def _default_name(data: bytes) -> str:
    kind = sniff(data)
    return "upload.bin" if kind == "other" else f"upload.{'jpg' if kind == 'jpeg' else kind}"


def _read(source: Source) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, "the given bytes"
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            return path.read_bytes(), str(path)
        except OSError as error:
            raise UserError(f"cannot read {str(path)!r}: {error.strerror or error}") from None
    raise UserError(f"expected a path, bytes or URL, not {type(source).__name__}")


def _expect_image(kind: str, where: str) -> None:
    if kind not in IMAGE_TYPES:
        found = "a PDF (use pdf(...))" if kind == "pdf" else "not an image agentkit recognises"
        raise UserError(
            f"{where} is {found}: images must be PNG, JPEG, WEBP or GIF (told by their bytes)"
        )


def _expect_pdf(kind: str, where: str) -> None:
    if kind != "pdf":
        found = f"a {kind.upper()} image (use image(...))" if kind in IMAGE_TYPES else "not a PDF"
        raise UserError(f"{where} is {found}: pdf() takes PDF files (starting with %PDF-)")
