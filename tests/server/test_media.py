"""Images and PDFs in input: the server checks them like the service and `auto` says what it got.

Formats are told by the bytes (Pillow for images, pypdf for PDFs), never by the data URL's MIME
type: Azure's own sample sends a PNG as `data:image/jpeg`. Every refusal is a 400 that names the
part (`input[0].content[1].image_url`) and what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from openai import OpenAI
from openai.types.responses import ResponseItemList
from sample_media import NUCLEUS_PAGES, animated_gif, data_url, image_bytes, pdf_bytes

from agentkit.server import LocalServer
from agentkit.server.protocol import media as server_media


def ask(client: OpenAI, *parts: dict[str, Any], text: str = "What is this?") -> str:
    content = [{"type": "input_text", "text": text}, *parts]
    response = client.responses.create(model="gpt-4o", input=[{"role": "user", "content": content}])
    return response.output_text


def image_part(data: bytes, mime: str = "image/png") -> dict[str, Any]:
    return {"type": "input_image", "image_url": data_url(data, mime)}


def pdf_part(data: bytes, name: str = "paper.pdf") -> dict[str, Any]:
    return {"type": "input_file", "filename": name, "file_data": data_url(data, "application/pdf")}


def refusal(client: OpenAI, *parts: dict[str, Any]) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as caught:
        ask(client, *parts)
    return caught.value


# --- what the auto engine acknowledges -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "mime", "size"),
    [
        ("PNG", "image/png", (64, 48)),
        ("JPEG", "image/jpeg", (320, 200)),
        ("WEBP", "image/webp", (17, 5)),
        ("GIF", "image/gif", (1, 1)),
    ],
)
def test_an_image_is_acknowledged_with_its_format_and_pixel_size(
    client: OpenAI, kind: str, mime: str, size: tuple[int, int]
):
    answer = ask(client, image_part(image_bytes(kind, size), mime))

    assert answer == (
        f'You said: "What is this?". You sent an image ({kind}, {size[0]}x{size[1]} pixels).'
    )


def test_the_format_comes_from_the_bytes_not_the_data_url_mime_type(client: OpenAI):
    # Azure's image editing sample sends PNG files as data:image/jpeg.
    answer = ask(client, image_part(image_bytes("PNG", (10, 20)), "image/jpeg"))

    assert answer.endswith("You sent an image (PNG, 10x20 pixels).")


def test_an_http_image_url_is_acknowledged_but_not_fetched(client: OpenAI):
    part = {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "low"}

    answer = ask(client, part)

    assert answer.endswith(
        "You sent an image at https://example.com/cat.png (not fetched: this server works offline)."
    )


def test_a_pdf_is_acknowledged_with_its_page_count_and_the_start_of_its_text(client: OpenAI):
    answer = ask(client, pdf_part(pdf_bytes(NUCLEUS_PAGES)), text="Summarize this PDF")

    quoted = " ".join(NUCLEUS_PAGES)[:119] + "…"
    assert answer == (
        f'You said: "Summarize this PDF". You sent a PDF "paper.pdf" (2 pages) that begins '
        f'"{quoted}".'
    )


def test_a_pdf_without_text_says_so(client: OpenAI):
    answer = ask(client, pdf_part(pdf_bytes([""]), "scan.pdf"))

    assert answer.endswith('You sent a PDF "scan.pdf" (1 page, no extractable text).')


def test_several_parts_are_listed_in_order(client: OpenAI):
    answer = ask(
        client,
        image_part(image_bytes("PNG", (2, 3))),
        pdf_part(pdf_bytes(["One page."]), "one.pdf"),
        {"type": "input_file", "file_url": "https://example.com/a.pdf"},
    )

    assert answer.endswith(
        'You sent an image (PNG, 2x3 pixels), a PDF "one.pdf" (1 page) that begins "One page." '
        "and a file at https://example.com/a.pdf (not fetched: this server works offline)."
    )


def test_only_the_latest_user_message_is_acknowledged(client: OpenAI):
    first = client.responses.create(
        model="gpt-4o",
        input=[{"role": "user", "content": [image_part(image_bytes())]}],
    )
    second = client.responses.create(
        model="gpt-4o", previous_response_id=first.id, input="And now?"
    )

    assert first.output_text.endswith("You sent an image (PNG, 64x48 pixels).")
    assert "You sent" not in second.output_text


def test_an_image_in_a_function_call_output_is_checked(client: OpenAI):
    call = {"type": "function_call", "call_id": "call_1", "name": "shot", "arguments": "{}"}
    output = {
        "type": "function_call_output",
        "call_id": "call_1",
        "output": [{"type": "input_image", "image_url": "data:image/png;base64,bm90IGFuIGltYWdl"}],
    }

    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input=[call, output])

    assert caught.value.body["param"] == "input[1].output[0].image_url"  # type: ignore[index]


def test_input_items_with_images_and_pdfs_validate_against_the_spec(client: OpenAI):
    response = client.responses.create(
        model="gpt-4o",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Compare"},
                    image_part(image_bytes()),
                    pdf_part(pdf_bytes(["x"])),
                ],
            }
        ],
    )

    page = client.responses.input_items.list(response.id)

    parts = page.data[0].content  # type: ignore[union-attr]
    assert [p.type for p in parts] == ["input_text", "input_image", "input_file"]
    assert parts[1].detail == "auto"  # type: ignore[union-attr]
    ResponseItemList.model_validate(page.model_dump())


def test_input_items_list_validates_against_openai_spec(server: LocalServer, openai_spec: Any):
    with httpx2.Client(base_url=server.base_url) as http:
        created = http.post(
            "/responses",
            json={
                "model": "gpt-4o",
                "input": [
                    {
                        "role": "user",
                        "content": [image_part(image_bytes()), pdf_part(pdf_bytes(["x"]))],
                    }
                ],
            },
        ).json()
        page = http.get(f"/responses/{created['id']}/input_items").json()

    assert openai_spec.errors("ResponseItemList", page) == []
    assert openai_spec.errors("Response", created) == []


# --- refusals ------------------------------------------------------------------------------------


def _param_and_message(error: openai.BadRequestError) -> tuple[str, str]:
    body: dict[str, Any] = error.body  # type: ignore[assignment]
    return body["param"], body["message"]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("data:image/png,abc", "a data URL that is not base64-encoded (it needs ';base64')"),
        ("data:image/png;base64,@@@", "an invalid base64 encoding"),
        ("data:image/png;base64,", "an empty payload"),
        ("data:;base64,AAAA", "unsupported MIME type 'none'"),
        ("data:image/svg+xml;base64,PHN2Zy8+", "unsupported MIME type 'image/svg+xml'"),
        ("data:text/plain;base64,aGk=", "unsupported MIME type 'text/plain'"),
    ],
)
def test_a_malformed_image_data_url_is_a_400_naming_the_problem(
    client: OpenAI, url: str, problem: str
):
    error = refusal(client, {"type": "input_image", "image_url": url})

    param, message = _param_and_message(error)
    assert error.status_code == 400
    assert param == "input[0].content[1].image_url"
    assert message.startswith(
        "Invalid 'input[0].content[1].image_url'. Expected a base64-encoded data URL with an "
        "image MIME type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got "
    )
    assert message.endswith(problem + ".")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"hello, not an image", "the data is not an image this server can read"),
        (image_bytes("BMP"), "the image is BMP; supported formats are PNG, JPEG, WEBP and"),
        (image_bytes("TIFF"), "the image is TIFF; supported formats are PNG, JPEG, WEBP and"),
        (animated_gif(), "animated GIFs are not supported"),
        (image_bytes("PNG", (300, 300))[:60], "the image data is corrupt or truncated"),
        (pdf_bytes(["a pdf"]), "the data is not an image this server can read"),
    ],
    ids=["text", "bmp", "tiff", "animated-gif", "truncated-png", "pdf"],
)
def test_data_that_is_not_a_supported_image_is_a_400(client: OpenAI, data: bytes, problem: str):
    error = refusal(client, image_part(data))

    param, message = _param_and_message(error)
    assert error.code == "invalid_image_format"
    assert param == "input[0].content[1].image_url"
    assert message.startswith(f"Invalid 'input[0].content[1].image_url': {problem}")


def test_an_image_data_url_longer_than_the_spec_allows_is_a_400(client: OpenAI):
    url = "data:image/png;base64," + "A" * server_media.MAX_IMAGE_URL_LENGTH

    error = refusal(client, {"type": "input_image", "image_url": url})

    assert error.code == "string_above_max_length"
    assert "Expected a string with maximum length 20971520" in _param_and_message(error)[1]


@pytest.mark.parametrize(
    ("file_data", "problem"),
    [
        ("JVBERi0xLjQK", "a value without the 'data:' prefix and a comma"),
        ("data:application/pdf;base64,!!", "an invalid base64 encoding"),
        (data_url(b"%PDF-1.4", "text/plain"), "unsupported MIME type 'text/plain'"),
    ],
)
def test_a_malformed_file_data_url_is_a_400(client: OpenAI, file_data: str, problem: str):
    part = {"type": "input_file", "filename": "a.pdf", "file_data": file_data}

    error = refusal(client, part)

    param, message = _param_and_message(error)
    assert param == "input[0].content[1].file_data"
    assert "Expected a base64-encoded data URL with an application/pdf MIME type" in message
    assert message.endswith(problem + ".")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (image_bytes(), "the file is not a PDF (it does not start with '%PDF-')"),
        (b"%PDF-1.4\nthis is not really a pdf", "the PDF could not be read"),
        (pdf_bytes(["x"])[:100], "the PDF could not be read"),
    ],
    ids=["png", "garbage", "truncated"],
)
def test_a_file_that_is_not_a_readable_pdf_is_a_400(client: OpenAI, data: bytes, problem: str):
    error = refusal(client, pdf_part(data))

    param, message = _param_and_message(error)
    assert error.code == "invalid_file"
    assert param == "input[0].content[1].file_data"
    assert message.startswith(f"Invalid 'input[0].content[1].file_data': {problem}")


def test_file_data_needs_a_filename(client: OpenAI):
    part = {"type": "input_file", "file_data": data_url(pdf_bytes(["x"]), "application/pdf")}

    error = refusal(client, part)

    assert _param_and_message(error)[0] == "input[0].content[1].filename"


def test_more_than_100_pages_in_a_request_is_a_400(client: OpenAI):
    sixty = pdf_part(pdf_bytes([f"page {n}" for n in range(60)]))

    error = refusal(client, sixty, sixty)

    param, message = _param_and_message(error)
    assert error.code == "too_many_pages"
    assert param == "input[0].content[2].file_data"
    assert message == (
        "Invalid 'input[0].content[2].file_data': the PDFs of a request may total at most 100 "
        "pages; this one brings them to 120."
    )


def test_files_above_the_request_cap_are_a_400(client: OpenAI, monkeypatch: pytest.MonkeyPatch):
    document = pdf_bytes(["x"])
    monkeypatch.setattr(server_media, "MAX_FILE_BYTES", len(document) + 10)

    error = refusal(client, pdf_part(document), image_part(image_bytes()))

    param, message = _param_and_message(error)
    assert error.code == "file_too_large"
    assert param == "input[0].content[2].image_url"
    assert "the files of a request may total at most" in message


def test_the_caps_are_32_mb_and_100_pages():
    assert server_media.MAX_FILE_BYTES == 32 * 1024 * 1024
    assert server_media.MAX_PDF_PAGES == 100


@pytest.mark.parametrize("part", [
    {"type": "input_image", "file_id": "file-nope"},
    {"type": "input_file", "file_id": "file-nope"},
])  # fmt: skip
def test_an_unknown_file_id_is_a_400(client: OpenAI, part: dict[str, Any]):
    error = refusal(client, part)

    param, message = _param_and_message(error)
    assert error.code == "file_not_found"
    assert param == "input[0].content[1].file_id"
    assert message.startswith(
        "Invalid 'input[0].content[1].file_id': no file with id 'file-nope' was found"
    )


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openai_spec() -> Iterator[Any]:
    import importlib.util
    from pathlib import Path

    reference = Path(__file__).resolve().parents[3] / "shared" / "reference"
    if not (reference / "validate.py").exists():
        pytest.skip("../shared/reference is not present")
    spec = importlib.util.spec_from_file_location("reference_validate", reference / "validate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module.SpecValidator(reference / "openai-openapi.json")


def test_an_input_file_may_set_its_detail(client: OpenAI):
    part = {**pdf_part(pdf_bytes(["x"])), "detail": "low"}
    response = client.responses.create(model="gpt-4o", input=[{"role": "user", "content": [part]}])

    stored = client.responses.input_items.list(response.id).data[0].content[0]  # type: ignore[union-attr]
    assert stored.detail == "low"  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError) as caught:
        ask(client, {**part, "detail": "original"})
    assert _param_and_message(caught.value) == (
        "input[0].content[1].detail",
        "Invalid value: 'original'. Supported values are: 'auto', 'low', and 'high'.",
    )
