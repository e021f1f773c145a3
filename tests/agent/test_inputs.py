"""Images and PDFs as agent input, and pictures the image generation tool makes for an agent.

`agentkit.inputs` builds content parts from paths, bytes, URLs and uploaded files (formats told by
their bytes); `ImageGeneration` offers the hosted tool (and, on Azure, sends the deployment
header); `RunResult.images` holds the pictures.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import openai
import pytest
from PIL import Image
from sample_media import NUCLEUS_PAGES, image_bytes, pdf_bytes

from agentkit import Agent, FinalResult
from agentkit.errors import ConfigurationError, ModelCallError, UserError
from agentkit.inputs import UploadedFile, image, pdf, sniff, upload, user_message
from agentkit.run.images import GeneratedImage
from agentkit.server import LocalServer
from agentkit.tools.hosted import ImageGeneration

from .conftest import AgentFactory, local_client

PNG = image_bytes("PNG", (30, 20))
JPEG = image_bytes("JPEG", (8, 8))
PDF = pdf_bytes(NUCLEUS_PAGES)


# --- building parts (no I/O beyond reading files) ------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PNG, "png"),
        (JPEG, "jpeg"),
        (image_bytes("GIF"), "gif"),
        (image_bytes("WEBP"), "webp"),
        (PDF, "pdf"),
        (image_bytes("BMP"), "other"),
        (b"", "other"),
        (b"RIFF\x00\x00\x00\x00WAVE", "other"),
    ],
    ids=["png", "jpeg", "gif", "webp", "pdf", "bmp", "empty", "wav"],
)
def test_sniff_tells_the_format_by_magic_bytes(data: bytes, kind: str):
    assert sniff(data) == kind


def test_an_image_from_a_path_is_a_data_url_typed_by_its_bytes(tmp_path: Path):
    path = tmp_path / "cat.jpg"  # a PNG, whatever its name says
    path.write_bytes(PNG)

    part = image(path, detail="high")

    assert part == {
        "type": "input_image",
        "image_url": "data:image/png;base64," + base64.b64encode(PNG).decode(),
        "detail": "high",
    }


def test_an_image_from_bytes_and_a_str_path(tmp_path: Path):
    (tmp_path / "a.jpeg").write_bytes(JPEG)

    assert image(JPEG)["image_url"].startswith("data:image/jpeg;base64,/9j/")
    assert image(str(tmp_path / "a.jpeg")) == image(JPEG)


@pytest.mark.parametrize(
    "url", ["https://example.com/cat.png", "http://x/y", "data:image/png;base64,AA"]
)
def test_an_image_url_is_sent_as_it_is(url: str):
    assert image(url, detail="low") == {"type": "input_image", "image_url": url, "detail": "low"}


def test_an_uploaded_image_is_sent_by_file_id():
    uploaded = UploadedFile("file-abc", "cat.png", "png")

    assert image(uploaded) == {"type": "input_image", "file_id": "file-abc", "detail": "auto"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (image_bytes("BMP"), "the given bytes is not an image agentkit recognises: images must be PNG, JPEG, WEBP or GIF (told by their bytes)"),
        (PDF, "the given bytes is a PDF (use pdf(...)): images must be PNG, JPEG, WEBP or GIF"),
        (UploadedFile("file-1", "a.pdf", "pdf"), "uploaded file file-1 ('a.pdf') is a PDF (use pdf(...))"),
    ],
    ids=["bmp", "pdf", "uploaded-pdf"],
)  # fmt: skip
def test_what_is_not_an_image_is_refused_clearly(source: Any, message: str):
    with pytest.raises(UserError) as caught:
        image(source)

    assert str(caught.value).startswith(message)


def test_a_missing_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(UserError, match=r"cannot read '.*nope\.png': No such file or directory"):
        image(tmp_path / "nope.png")


def test_a_pdf_from_a_path_is_base64_file_data_with_its_name(tmp_path: Path):
    path = tmp_path / "paper.pdf"
    path.write_bytes(PDF)

    assert pdf(path) == {
        "type": "input_file",
        "filename": "paper.pdf",
        "file_data": "data:application/pdf;base64," + base64.b64encode(PDF).decode(),
    }


def test_a_pdf_from_bytes_url_and_upload():
    assert pdf(PDF)["filename"] == "document.pdf"
    assert pdf(PDF, filename="report.pdf")["filename"] == "report.pdf"
    assert pdf("https://example.com/a.pdf") == {
        "type": "input_file",
        "file_url": "https://example.com/a.pdf",
    }
    assert pdf(UploadedFile("file-9", "a.pdf", "pdf")) == {
        "type": "input_file",
        "file_id": "file-9",
    }


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            PNG,
            "the given bytes is a PNG image (use image(...)): pdf() takes PDF files (starting with %PDF-)",
        ),
        (b"hello", "the given bytes is not a PDF: pdf() takes PDF files (starting with %PDF-)"),
    ],
    ids=["png", "text"],
)
def test_what_is_not_a_pdf_is_refused_clearly(source: bytes, message: str):
    with pytest.raises(UserError) as caught:
        pdf(source)

    assert str(caught.value) == message


def test_user_message_puts_text_and_parts_in_order():
    picture = image(PNG)

    assert user_message("What is this?", picture, "Be brief.") == {
        "type": "message",
        "role": "user",
        "content": [
            {"type": "input_text", "text": "What is this?"},
            picture,
            {"type": "input_text", "text": "Be brief."},
        ],
    }
    with pytest.raises(UserError):
        user_message()


# --- uploading -----------------------------------------------------------------------------------

# The Files API's handler leaves the upload's spooled temporary file to the garbage collector.
UPLOAD_LEAK = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@UPLOAD_LEAK
def test_upload_with_a_sync_client(server: LocalServer, tmp_path: Path):
    path = tmp_path / "paper.pdf"
    path.write_bytes(PDF)
    with openai.OpenAI(base_url=server.base_url, api_key="k") as client:
        uploaded = upload(client, path)
        stored = client.files.retrieve(uploaded.id)

    assert (uploaded.filename, uploaded.kind) == ("paper.pdf", "pdf")
    assert (stored.filename, stored.purpose, stored.bytes) == ("paper.pdf", "assistants", len(PDF))


@UPLOAD_LEAK
async def test_upload_with_an_async_client_names_bytes_by_their_format(
    client: openai.AsyncOpenAI,
):
    uploaded = await upload(client, PNG)

    assert (uploaded.filename, uploaded.kind) == ("upload.png", "png")
    assert (await client.files.retrieve(uploaded.id)).filename == "upload.png"


# --- agents that read images and PDFs ------------------------------------------------------------


async def test_an_agent_answers_a_question_about_a_pdf(agent: AgentFactory, tmp_path: Path):
    path = tmp_path / "nucleus.pdf"
    path.write_bytes(PDF)

    result = await agent().run([user_message("Summarize this PDF", pdf(path))])

    assert result.output.startswith(
        'You said: "Summarize this PDF". You sent a PDF "nucleus.pdf" (2 pages) that begins '
        '"Nucleus sampling keeps the smallest set of tokens'
    )


async def test_an_agent_answers_a_question_about_an_image(agent: AgentFactory):
    result = await agent().run([user_message("What is in this image?", image(PNG))])

    assert result.output == (
        'You said: "What is in this image?". You sent an image (PNG, 30x20 pixels).'
    )


@UPLOAD_LEAK
async def test_an_agent_reads_uploaded_files(agent: AgentFactory, client: openai.AsyncOpenAI):
    paper = await upload(client, PDF, filename="paper.pdf")
    photo = await upload(client, JPEG)

    result = await agent().run([user_message("Compare", pdf(paper), image(photo))])

    assert result.output.endswith(
        f'(2 pages) that begins "{" ".join(NUCLEUS_PAGES)[:119]}…" and an image, file '
        f'{photo.id} "upload.jpg", (JPEG, 8x8 pixels).'
    )


async def test_a_malformed_image_fails_the_run_with_the_servers_400(agent: AgentFactory):
    broken = {"type": "input_image", "image_url": "data:image/png;base64,bm9wZQ=="}

    with pytest.raises(ModelCallError) as caught:
        await agent().run([user_message("What is this?", broken)])

    assert caught.value.status_code == 400
    assert "input[0].content[1].image_url" in str(caught.value)


async def test_stateless_runs_resend_the_image_by_value(agent: AgentFactory):
    first = await agent(store=False).run([user_message("What is this?", image(PNG))])
    second = await agent(store=False).run("And now?", conversation=first.conversation)

    assert first.output.endswith("You sent an image (PNG, 30x20 pixels).")
    assert second.output.startswith('You said: "And now?". Earlier in this conversation')


# --- agents that draw ----------------------------------------------------------------------------


async def test_a_generated_image_is_saved_to_disk(
    agent: AgentFactory, server: LocalServer, tmp_path: Path
):
    drawer = agent(tools=[ImageGeneration(size="1536x1024", quality="high")])

    result = await drawer.run("Draw a lighthouse on a cliff")

    [picture] = result.images
    assert isinstance(picture, GeneratedImage)
    assert (picture.output_format, picture.size) == ("png", "1536x1024")
    assert picture.revised_prompt == "A lighthouse on a cliff"
    saved = picture.save(tmp_path / "lighthouse.png")
    with Image.open(saved) as opened:
        assert (opened.format, opened.size) == ("PNG", (1536, 1024))
    assert result.output.startswith("Here is what the tools returned: image_generation made")
    sent = server.requests[0]["tools"]
    assert sent == [{"type": "image_generation", "size": "1536x1024", "quality": "high"}]


async def test_a_run_without_pictures_has_no_images(agent: AgentFactory):
    result = await agent(tools=[ImageGeneration()]).run("Hello")

    assert result.images == []


async def test_images_are_those_of_this_run_only(agent: AgentFactory):
    drawer = agent(tools=[ImageGeneration(output_format="webp")])
    first = await drawer.run("Draw a cat")
    second = await drawer.run("Thanks!", conversation=first.conversation)

    assert [i.output_format for i in first.images] == ["webp"]
    assert Image.open(io.BytesIO(first.images[0].data)).format == "WEBP"
    assert second.images == []


async def test_a_stateless_agent_replays_its_picture_by_value(agent: AgentFactory):
    drawer = agent(tools=[ImageGeneration()], store=False)
    first = await drawer.run("Draw a cat")
    second = await drawer.run("Now describe it", conversation=first.conversation)

    assert len(first.images) == 1
    assert second.output.startswith('You said: "Now describe it".')


async def test_a_streamed_run_ends_with_the_pictures(agent: AgentFactory):
    drawer = agent(tools=[ImageGeneration(partial_images=2)])

    events = [event async for event in drawer.stream("Draw a boat")]

    final = events[-1]
    assert isinstance(final, FinalResult)
    assert len(final.result.images) == 1


# --- Azure: the image deployment header ----------------------------------------------------------


@pytest.fixture(scope="module")
def azure_server() -> Any:
    with LocalServer(azure=True) as running:
        yield running


async def test_on_azure_the_deployment_is_sent_as_the_header_azure_requires(
    azure_server: LocalServer,
):
    async with local_client(azure_server) as client:
        drawer = Agent(model="gpt-4.1", client=client, tools=[ImageGeneration(deployment="img")])
        result = await drawer.run("Draw a cat")

    assert len(result.images) == 1


async def test_on_azure_without_a_deployment_the_run_fails_with_azures_400(
    azure_server: LocalServer,
):
    async with local_client(azure_server) as client:
        drawer = Agent(model="gpt-4.1", client=client, tools=[ImageGeneration()])
        with pytest.raises(ModelCallError) as caught:
            await drawer.run("Draw a cat")

    assert caught.value.status_code == 400
    assert "imagegen deployment must be provided through header" in str(caught.value)


def test_the_tool_gives_the_header_only_with_a_deployment():
    assert ImageGeneration(deployment="gpt-image-1").request_headers() == {
        "x-ms-oai-image-generation-deployment": "gpt-image-1"
    }
    assert ImageGeneration().request_headers() == {}
    assert "deployment" not in ImageGeneration(deployment="d").to_param()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"quality": "ultra"}, "ImageGeneration: quality must be one of low, medium, high, auto, not 'ultra'"),
        ({"partial_images": 4}, "ImageGeneration: partial_images must be 0-3, not 4"),
        ({"background": "transparent", "output_format": "jpeg"}, "ImageGeneration: a transparent background needs output_format png or webp"),
        ({"deployment": " "}, "ImageGeneration: deployment must be a deployment name"),
    ],
)  # fmt: skip
def test_a_bad_image_generation_config_is_refused_early(options: dict[str, Any], message: str):
    with pytest.raises(ConfigurationError) as caught:
        ImageGeneration(**options)

    assert str(caught.value) == message
