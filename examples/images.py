"""Images and PDFs: ask about a picture and a document, by value and uploaded, then draw one.

Run it: `python examples/images.py`
"""

from __future__ import annotations

import asyncio
import io
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

from agentkit import Agent, ImageGeneration, image, local_fallback, pdf, upload, user_message
from agentkit.model import resolve_client


def picture(kind: str) -> bytes:
    """A small chart, as PNG or as a one-page PDF."""
    chart = Image.new("RGB", (320, 240), "white")
    ImageDraw.Draw(chart).rectangle((60, 80, 260, 200), fill="teal")
    buffer = io.BytesIO()
    chart.save(buffer, kind)
    return buffer.getvalue()


async def main() -> None:
    # The client agents build from the environment: uploads go to the same endpoint.
    async with resolve_client() as client:
        reader = Agent(model="gpt-4o", client=client)
        png, report = picture("PNG"), picture("PDF")
        uploaded = await upload(client, report, filename="report.pdf")
        print("uploaded:", uploaded.id)
        for message in [
            user_message("What is in this image?", image(png)),
            user_message("Summarise this PDF", pdf(report, filename="report.pdf")),
            user_message("Summarise this PDF", pdf(uploaded)),  # sent by file id
        ]:
            result = await reader.run([message])
            print("assistant:", result.output)

        painter = reader.clone(tools=[ImageGeneration()])
        result = await painter.run("Draw a lighthouse at dusk")
        print("assistant:", result.output)
        drawn = result.images[0]
        path = drawn.save(Path(tempfile.mkdtemp()) / f"lighthouse.{drawn.output_format}")
        print(f"saved {path.name}: {drawn.size} pixels, {path.stat().st_size} bytes")


if __name__ == "__main__":
    if local_fallback():
        print("(no endpoint configured: agentkit's embedded local server answers)")
    asyncio.run(main())
