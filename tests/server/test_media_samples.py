"""The image input, PDF input and image generation samples of Azure's how-to page, run locally.

Each sample's body is copied verbatim from `../shared/reference/azure-responses-api-nl.txt`;
only the client construction changes (the page's `AzureOpenAI(base_url=...,
azure_ad_token_provider=..., api_version=...)` becomes the same client on the local server
with an API key; `default_headers` stay as they are), a placeholder image URL is filled in, and
the uploaded file's literal id is substituted. Files the samples read (`path_to_your_image.jpg`,
`PDF-FILE-NAME.pdf`, `nucleus_sampling.pdf`, `image1.png`...) are made in a temporary working
directory, where the samples also write theirs. The image generation samples send Azure's
`x-ms-oai-image-generation-deployment` header, so they run against a server in Azure mode.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import AzureOpenAI
from PIL import Image
from sample_media import NUCLEUS_PAGES, image_bytes, pdf_bytes

from agentkit.server import LocalServer

API_KEY = "sample-key"
MakeClient = Callable[..., AzureOpenAI]


@pytest.fixture(scope="module", params=["openai", "azure"])
def sample_server(request: pytest.FixtureRequest) -> Iterator[LocalServer]:
    with LocalServer(api_key=API_KEY, azure=request.param == "azure") as running:
        yield running


@pytest.fixture(scope="module")
def azure_server() -> Iterator[LocalServer]:
    with LocalServer(api_key=API_KEY, azure=True) as running:
        yield running


def client_factory(server: LocalServer) -> Iterator[MakeClient]:
    made: list[AzureOpenAI] = []

    def make(**options: Any) -> AzureOpenAI:
        """The page's client, on the local server: `base_url` and an API key substituted."""
        if "azure_endpoint" in options:
            options["azure_endpoint"] = server.url + "/"
        else:
            options.setdefault("base_url", server.url + "/openai/v1/")
        options.setdefault("api_version", "preview")
        client = AzureOpenAI(api_key=API_KEY, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def make_client(sample_server: LocalServer) -> Iterator[MakeClient]:
    yield from client_factory(sample_server)


@pytest.fixture
def make_azure_client(azure_server: LocalServer) -> Iterator[MakeClient]:
    yield from client_factory(azure_server)


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The samples read and write files next to them: here, a fresh temporary directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


HEADER = {"x-ms-oai-image-generation-deployment": "YOUR-GPT-IMAGE1-DEPLOYMENT-NAME"}


# fmt: off
# --- image input ---------------------------------------------------------------------------------


def test_image_url(make_client: MakeClient, capsys: pytest.CaptureFixture[str]):
    client = make_client()
    response = client.responses.create(
        model="gpt-4o",
        input=[
            {
                "role": "user",
                "content": [
                    { "type": "input_text", "text": "what is in this image?" },
                    {
                        "type": "input_image",
                        "image_url": "https://example.com/tabby-cat.jpg"
                    }
                ]
            }
        ]
    )
    print(response)

    assert "Response(id='resp_" in capsys.readouterr().out
    assert response.output_text == (
        'You said: "what is in this image?". You sent an image at '
        "https://example.com/tabby-cat.jpg (not fetched: this server works offline)."
    )


def test_base64_encoded_image(
    make_client: MakeClient, workdir: Path, capsys: pytest.CaptureFixture[str]
):
    (workdir / "path_to_your_image.jpg").write_bytes(image_bytes("JPEG", (640, 480)))
    client = make_client()

    def encode_image(image_path):  # type: ignore[no-untyped-def]
        with open(image_path, "rb") as image_file:
            return base64.b64encode(image_file.read()).decode("utf-8")
    # Path to your image
    image_path = "path_to_your_image.jpg"
    # Getting the Base64 string
    base64_image = encode_image(image_path)
    response = client.responses.create(
        model="gpt-4o",
        input=[
            {
                "role": "user",
                "content": [
                    { "type": "input_text", "text": "what is in this image?" },
                    {
                        "type": "input_image",
                        "image_url": f"data:image/jpeg;base64,{base64_image}"
                    }
                ]
            }
        ]
    )
    print(response)

    assert "Response(id='resp_" in capsys.readouterr().out
    assert response.output_text == (
        'You said: "what is in this image?". You sent an image (JPEG, 640x480 pixels).'
    )


# --- PDF input -----------------------------------------------------------------------------------


def test_convert_pdf_to_base64_and_analyze(
    make_client: MakeClient, workdir: Path, capsys: pytest.CaptureFixture[str]
):
    (workdir / "PDF-FILE-NAME.pdf").write_bytes(pdf_bytes(NUCLEUS_PAGES))
    client = make_client()

    with open("PDF-FILE-NAME.pdf", "rb") as f: # assumes PDF is in the same directory as the executing script
        data = f.read()
    base64_string = base64.b64encode(data).decode("utf-8")
    response = client.responses.create(
        model="gpt-4o-mini", # model deployment name
        input=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "input_file",
                        "filename": "PDF-FILE-NAME.pdf",
                        "file_data": f"data:application/pdf;base64,{base64_string}",
                    },
                    {
                        "type": "input_text",
                        "text": "Summarize this PDF",
                    },
                ],
            },
        ]
    )
    print(response.output_text)

    out = capsys.readouterr().out
    assert out.startswith('You said: "Summarize this PDF". You sent a PDF "PDF-FILE-NAME.pdf" (2 ')
    assert 'pages) that begins "Nucleus sampling keeps the smallest set' in out


# The sample never closes the file it uploads (and the upload's spooled copy is garbage-collected
# on the server's side): their ResourceWarnings surface as unraisable-exception warnings.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_upload_pdf_and_analyze(
    make_client: MakeClient, workdir: Path, capsys: pytest.CaptureFixture[str]
):
    (workdir / "nucleus_sampling.pdf").write_bytes(pdf_bytes(NUCLEUS_PAGES))
    client = make_client(azure_endpoint="https://YOUR-RESOURCE=NAME.openai.azure.com/", api_version="2024-10-21")

    # Upload a file with a purpose of "batch"
    file = client.files.create(
        file=open("nucleus_sampling.pdf", "rb"), # noqa: SIM115 This assumes a .pdf file in the same directory as the executing script
        purpose="assistants"
    )
    print(file.model_dump_json(indent=2))
    file_id = file.id

    [uploaded] = [json.loads(capsys.readouterr().out)]
    assert uploaded["filename"] == "nucleus_sampling.pdf"
    assert (uploaded["object"], uploaded["purpose"], uploaded["status"]) == (
        "file",
        "assistants",
        "processed",
    )
    assert uploaded["bytes"] == len(pdf_bytes(NUCLEUS_PAGES))

    client = make_client()
    response = client.responses.create(
        model="gpt-4o-mini",
        input=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "input_file",
                        "file_id": file_id
                    },
                    {
                        "type": "input_text",
                        "text": "Summarize this PDF",
                    },
                ],
            },
        ]
    )
    print(response.output_text)

    out = capsys.readouterr().out
    assert out.startswith('You said: "Summarize this PDF". You sent a PDF "nucleus_sampling.pdf" (2 ')


# --- image generation (Azure: the deployment header) ---------------------------------------------


def test_generate_an_image(make_azure_client: MakeClient, workdir: Path):
    client = make_azure_client(default_headers={"x-ms-oai-image-generation-deployment":"YOUR-GPT-IMAGE1-DEPLOYMENT-NAME"})

    response = client.responses.create(
        model="o3",
        input="Generate an image of gray tabby cat hugging an otter with an orange scarf",
        tools=[{"type": "image_generation"}],
    )
    # Save the image to a file
    image_data = [
        output.result
        for output in response.output
        if output.type == "image_generation_call"
    ]
    if image_data:
        image_base64 = image_data[0]
        with open("otter.png", "wb") as f:
            f.write(base64.b64decode(image_base64))

    with Image.open(workdir / "otter.png") as image:
        assert (image.format, image.size) == ("PNG", (1024, 1024))
    assert response.tools[0].model == "gpt-image-1"  # type: ignore[union-attr]


def test_stream_partial_images(make_azure_client: MakeClient, workdir: Path):
    client = make_azure_client(default_headers={"x-ms-oai-image-generation-deployment":"YOUR-GPT-IMAGE1-DEPLOYMENT-NAME"})

    stream = client.responses.create(
        model="gpt-4.1",
        input="Draw a gorgeous image of a river made of white owl feathers, snaking its way through a serene winter landscape",
        stream=True,
        tools=[{"type": "image_generation", "partial_images": 2}],
    )
    for event in stream:
        if event.type == "response.image_generation_call.partial_image":
            idx = event.partial_image_index
            image_base64 = event.partial_image_b64
            image_bytes = base64.b64decode(image_base64)
            with open(f"river{idx}.png", "wb") as f:
                f.write(image_bytes)

    assert sorted(p.name for p in workdir.iterdir()) == ["river0.png", "river1.png"]
    for name in ("river0.png", "river1.png"):
        with Image.open(workdir / name) as image:
            # "landscape" in the prompt: size auto draws a wide picture.
            assert (image.format, image.size) == ("PNG", (1536, 1024))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_edit_images(make_azure_client: MakeClient, workdir: Path):
    for number, colour in enumerate(("red", "lime", "blue", "yellow"), 1):
        (workdir / f"image{number}.png").write_bytes(image_bytes("PNG", (120, 120), colour))
    client = make_azure_client(default_headers={"x-ms-oai-image-generation-deployment":"YOUR-GPT-IMAGE1-DEPLOYMENT-NAME"})

    def create_file(file_path):  # type: ignore[no-untyped-def]
        with open(file_path, "rb") as file_content:
            result = client.files.create(
                file=file_content,
                purpose="vision",
            )
            return result.id
    def encode_image(file_path):  # type: ignore[no-untyped-def]
        with open(file_path, "rb") as f:
            base64_image = base64.b64encode(f.read()).decode("utf-8")
        return base64_image
    prompt = """Generate a photorealistic image of a gift basket on a white background
    labeled 'Relax & Unwind' with a ribbon and handwriting-like font,
    containing all the items in the reference pictures."""
    base64_image1 = encode_image("image1.png")
    base64_image2 = encode_image("image2.png")
    file_id1 = create_file("image3.png")
    file_id2 = create_file("image4.png")
    response = client.responses.create(
        model="gpt-4.1",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": prompt},
                    {
                        "type": "input_image",
                        "image_url": f"data:image/jpeg;base64,{base64_image1}",
                    },
                    {
                        "type": "input_image",
                        "image_url": f"data:image/jpeg;base64,{base64_image2}",
                    },
                    {
                        "type": "input_image",
                        "file_id": file_id1,
                    },
                    {
                        "type": "input_image",
                        "file_id": file_id2,
                    }
                ],
            }
        ],
        tools=[{"type": "image_generation"}],
    )
    image_generation_calls = [
        output
        for output in response.output
        if output.type == "image_generation_call"
    ]
    image_data = [output.result for output in image_generation_calls]
    if image_data:
        image_base64 = image_data[0]
        with open("gift-basket.png", "wb") as f:
            f.write(base64.b64decode(image_base64))
    else:
        print(response.output.content)

    # The four reference pictures are drawn along the bottom, in order.
    with Image.open(workdir / "gift-basket.png") as basket:
        picture = basket.convert("RGB")
    assert picture.size == (1024, 1024)
    row = [picture.getpixel((16 + 100 + i * (240 + 16), 1024 - 16 - 100)) for i in range(4)]
    assert row == [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
# fmt: on
