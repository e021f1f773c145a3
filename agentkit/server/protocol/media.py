"""Images and PDFs in input: decoded, checked and described (Pillow, pypdf), as the service would.

Checked once per request, on the new input only (stored items were checked when they came):
data URLs must decode, images must be PNG, JPEG, WEBP or non-animated GIF, PDFs must open and
have pages, file ids must name an uploaded file, and a request's files may total at most 32 MB
and 100 pages. `http(s)` URLs are accepted as they are: this server never fetches anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from agentkit.server.errors import APIError, invalid

Item = dict[str, Any]

IMAGE_MIME_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpeg", "GIF": "gif", "WEBP": "webp"}
MAX_IMAGE_URL_LENGTH = 20 * 1024 * 1024
"""The spec's `maxLength` of an `input_image.image_url` (a data URL counts whole)."""
MAX_FILE_BYTES = 32 * 1024 * 1024
"""What files (PDFs and images given as data or file ids) may total in one request."""
MAX_PDF_PAGES = 100
"""What the PDFs of one request may total in pages."""
TEXT_START = 120
"""How much of a PDF's extracted text the `auto` engine quotes."""
_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?((?:;[\w.+-]+=[^;,]*)*)(;base64)?,", re.ASCII)

log = logging.getLogger("agentkit.server")


@dataclass(frozen=True)
class ImageInfo:
    format: str
    """`png`, `jpeg`, `gif` or `webp`, from the bytes (never from a name or MIME type)."""
    width: int
    height: int


@dataclass(frozen=True)
class PdfInfo:
    pages: int
    text: str
    """The start of its extracted text, whitespace collapsed (may be empty: scanned pages)."""


@dataclass(frozen=True)
class StoredFile:
    """An uploaded file as media checks see it."""

    id: str
    filename: str
    data: bytes


# --- reading files that were uploaded ------------------------------------------------------------


def uploaded(services: Mapping[str, Any], file_id: str) -> StoredFile | None:
    """The uploaded file `file_id` from the Files API's store (`services["files"]`), or None."""
    files = services.get("files")
    if files is None:
        return None
    record = files.get(file_id)
    if record is None:
        return None
    return StoredFile(file_id, record.filename, files.content(file_id))


# --- decoding ------------------------------------------------------------------------------------


def data_url(value: str, param: str, expected: str, example: str) -> tuple[str, bytes]:
    """The MIME type and bytes of a base64 data URL, or the service's 400 naming what is wrong."""

    def refuse(problem: str) -> APIError:
        return invalid(
            f"Invalid '{param}'. Expected a base64-encoded data URL with {expected} "
            f"(e.g. '{example}'), but got {problem}.",
            param,
            "invalid_value",
        )

    match = _DATA_URL.match(value)
    if match is None:
        raise refuse("a value without the 'data:' prefix and a comma")
    mime = (match.group(1) or "").lower()
    if not match.group(3):
        raise refuse("a data URL that is not base64-encoded (it needs ';base64')")
    try:
        data = base64.b64decode(value[match.end() :], validate=True)
    except (binascii.Error, ValueError):
        raise refuse("an invalid base64 encoding") from None
    if not data:
        raise refuse("an empty payload")
    return mime, data


_INFO_CACHE: OrderedDict[tuple[str, bytes], ImageInfo | PdfInfo | str] = OrderedDict()
_INFO_CACHE_SIZE = 64
_INFO_LOCK = threading.Lock()  # servers in several threads share the cache


def _cached(kind: str, data: bytes, inspect: Any) -> ImageInfo | PdfInfo | str:
    """Inspect each distinct payload once: a request is checked, then described by `auto`."""
    key = (kind, hashlib.sha256(data).digest())
    with _INFO_LOCK:
        found = _INFO_CACHE.get(key)
    if found is None:
        found = inspect(data)
        with _INFO_LOCK:
            _INFO_CACHE[key] = found
            if len(_INFO_CACHE) > _INFO_CACHE_SIZE:
                _INFO_CACHE.popitem(last=False)
    return found


def image_info(data: bytes, param: str) -> ImageInfo:
    """What an image is, from its bytes; a 400 when it is not a supported, readable image."""
    found = _cached("image", data, _inspect_image)
    if isinstance(found, str):
        raise invalid(f"Invalid '{param}': {found}", param, "invalid_image_format")
    assert isinstance(found, ImageInfo)
    return found


def _inspect_image(data: bytes) -> ImageInfo | str:
    supported = "supported formats are PNG, JPEG, WEBP and non-animated GIF."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = IMAGE_FORMATS.get(image.format or "")
                if kind is None:
                    return f"the image is {image.format or 'of an unknown format'}; {supported}"
                animated = bool(getattr(image, "is_animated", False)) and kind == "gif"
                width, height = image.size
                image.verify()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        return "the image has too many pixels to be decoded safely."
    except UnidentifiedImageError:
        return f"the data is not an image this server can read; {supported}"
    except (OSError, SyntaxError, ValueError) as error:
        return f"the image data is corrupt or truncated ({error})."
    if animated:
        return f"animated GIFs are not supported; {supported}"
    return ImageInfo(kind, width, height)


def pdf_info(data: bytes, param: str) -> PdfInfo:
    """Pages and the start of the text of a PDF; a 400 when it does not open as one."""
    found = _cached("pdf", data, _inspect_pdf)
    if isinstance(found, str):
        raise invalid(f"Invalid '{param}': {found}", param, "invalid_file")
    assert isinstance(found, PdfInfo)
    return found


def _inspect_pdf(data: bytes) -> PdfInfo | str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if not data.startswith(b"%PDF-"):
        return (
            "the file is not a PDF (it does not start with '%PDF-'); only PDF files are supported."
        )
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)  # a damaged file is reported to the client, not logged
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return "the PDF is encrypted with a password."
        pages = len(reader.pages)
        if pages == 0:
            return "the PDF has no pages."
        return PdfInfo(pages, _text_start(reader))
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return f"the PDF could not be read ({error})."
    finally:
        pypdf_log.setLevel(level)


def _text_start(reader: Any) -> str:
    text = ""
    for page in reader.pages:
        text = " ".join((text + " " + (page.extract_text() or "")).split())
        if len(text) >= TEXT_START:
            break
    return text


# --- checking a request's input ------------------------------------------------------------------


@dataclass
class _Budget:
    """What the request's files use of the per-request caps so far."""

    bytes: int = 0
    pages: int = 0

    def add(self, size: int, pages: int, param: str) -> None:
        self.bytes += size
        self.pages += pages
        if self.bytes > MAX_FILE_BYTES:
            raise invalid(
                f"Invalid '{param}': the files of a request may total at most "
                f"{MAX_FILE_BYTES // (1024 * 1024)} MB; this one brings them to "
                f"{self.bytes / (1024 * 1024):.1f} MB.",
                param,
                "file_too_large",
            )
        if self.pages > MAX_PDF_PAGES:
            raise invalid(
                f"Invalid '{param}': the PDFs of a request may total at most {MAX_PDF_PAGES} "
                f"pages; this one brings them to {self.pages}.",
                param,
                "too_many_pages",
            )


def media_parts(items: list[Item]) -> Iterator[tuple[Item, str]]:
    """Every `input_image` and `input_file` part of `items`, with its param path."""
    for index, item in enumerate(items):
        for field in ("content", "output"):
            parts = item.get(field)
            if not isinstance(parts, list):
                continue
            for position, part in enumerate(parts):
                if isinstance(part, dict) and part.get("type") in ("input_image", "input_file"):
                    yield part, f"input[{index}].{field}[{position}]"


def check_media(items: list[Item], services: Mapping[str, Any]) -> None:
    """Check every image and file of a request's new input (see the module's docstring)."""
    budget = _Budget()
    for part, param in media_parts(items):
        if part["type"] == "input_image":
            _check_image(part, param, services, budget)
        else:
            _check_file(part, param, services, budget)


def _check_image(part: Item, param: str, services: Mapping[str, Any], budget: _Budget) -> None:
    url = part.get("image_url")
    if url is not None and url.startswith("data:"):
        where = f"{param}.image_url"
        if len(url) > MAX_IMAGE_URL_LENGTH:
            raise invalid(
                f"Invalid '{where}': string too long. Expected a string with maximum length "
                f"{MAX_IMAGE_URL_LENGTH}, but got a string with length {len(url)} instead.",
                where,
                "string_above_max_length",
            )
        mime, data = data_url(
            url, where, "an image MIME type", "data:image/png;base64,aW1nIGJ5dGVzIGhlcmU="
        )
        if mime not in IMAGE_MIME_TYPES:
            raise invalid(
                f"Invalid '{where}'. Expected a base64-encoded data URL with an image MIME type "
                f"(e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got unsupported MIME "
                f"type '{mime or 'none'}'.",
                where,
                "invalid_value",
            )
        image_info(data, where)
        budget.add(len(data), 0, where)
    elif url is None:
        where = f"{param}.file_id"
        stored = _uploaded_or_400(services, part["file_id"], where)
        image_info(stored.data, where)
        budget.add(len(stored.data), 0, where)


def _check_file(part: Item, param: str, services: Mapping[str, Any], budget: _Budget) -> None:
    if "file_data" in part:
        where = f"{param}.file_data"
        mime, data = data_url(
            part["file_data"],
            where,
            "an application/pdf MIME type",
            "data:application/pdf;base64,SGVsbG8sIFdvcmxkIQ==",
        )
        if mime != "application/pdf":
            raise invalid(
                f"Invalid '{where}'. Expected a base64-encoded data URL with an application/pdf "
                "MIME type (e.g. 'data:application/pdf;base64,SGVsbG8sIFdvcmxkIQ=='), but got "
                f"unsupported MIME type '{mime or 'none'}'.",
                where,
                "invalid_value",
            )
    elif "file_id" in part:
        where = f"{param}.file_id"
        data = _uploaded_or_400(services, part["file_id"], where).data
    else:
        return  # a file_url: never fetched here
    budget.add(len(data), 0, where)  # the size first: a huge file is refused unparsed
    budget.add(0, pdf_info(data, where).pages, where)


def _uploaded_or_400(services: Mapping[str, Any], file_id: str, param: str) -> StoredFile:
    stored = uploaded(services, file_id)
    if stored is None:
        raise invalid(
            f"Invalid '{param}': no file with id '{file_id}' was found (upload it with "
            "POST /files first; deleted files are gone).",
            param,
            "file_not_found",
        )
    return stored


def image_bytes(part: Item, services: Mapping[str, Any]) -> bytes | None:
    """The bytes of an `input_image` part (None for an http(s) URL, which is never fetched)."""
    url = part.get("image_url")
    if url is not None:
        return data_url(url, "image_url", "", "")[1] if url.startswith("data:") else None
    stored = uploaded(services, part.get("file_id") or "")
    return stored.data if stored is not None else None


# --- describing input, for the `auto` engine -----------------------------------------------------


def describe_media(message: Item, services: Mapping[str, Any]) -> list[str]:
    """How the `auto` engine acknowledges each image and file of a user message."""
    described: list[str] = []
    for part, _ in media_parts([message]):
        try:
            described.append(_describe(part, services))
        except APIError:
            described.append("a file this server could not read")
    return described


def _describe(part: Item, services: Mapping[str, Any]) -> str:
    if part["type"] == "input_image":
        url = part.get("image_url")
        if url is not None and not url.startswith("data:"):
            return f"an image at {url} (not fetched: this server works offline)"
        if url is not None:
            data = data_url(url, "image_url", "", "")[1]
            return "an image " + _image_words(image_info(data, "image_url"))
        stored = _uploaded_or_400(services, part["file_id"], "file_id")
        info = image_info(stored.data, "file_id")
        return f'an image, file {stored.id} "{stored.filename}", ' + _image_words(info)
    if "file_url" in part and "file_data" not in part and "file_id" not in part:
        return f"a file at {part['file_url']} (not fetched: this server works offline)"
    if "file_data" in part:
        name = part.get("filename", "")
        data = data_url(part["file_data"], "file_data", "", "")[1]
    else:
        stored = _uploaded_or_400(services, part["file_id"], "file_id")
        name, data = stored.filename, stored.data
    return f'a PDF "{name}" ' + _pdf_words(pdf_info(data, "file"))


def _image_words(info: ImageInfo) -> str:
    return f"({info.format.upper()}, {info.width}x{info.height} pixels)"


def _pdf_words(info: PdfInfo) -> str:
    pages = "1 page" if info.pages == 1 else f"{info.pages} pages"
    if not info.text:
        return f"({pages}, no extractable text)"
    text = info.text if len(info.text) <= TEXT_START else info.text[: TEXT_START - 1] + "…"
    return f'({pages}) that begins "{text}"'
