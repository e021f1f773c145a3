"""Deterministic pictures for the image generation tool: the same prompt always paints the same.

A picture is a two-colour gradient with a few translucent shapes, all chosen by a hash of the
prompt, the reference images (if any) as thumbnails along the bottom, and the prompt's text on a
band across the top, so a test (or a person) can see which prompt made which picture.
"""

from __future__ import annotations

import hashlib
import io
import random
import textwrap

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

Size = tuple[int, int]
SAVE_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
MAX_REFERENCE_PIXELS = 4096 * 4096
"""Larger reference images are left out of the picture rather than decoded whole."""


def paint(
    prompt: str,
    size: Size,
    *,
    output_format: str = "png",
    transparent: bool = False,
    compression: int = 100,
    references: tuple[bytes, ...] = (),
) -> bytes:
    """The picture for `prompt`, encoded in `output_format` (png, jpeg or webp)."""
    rng = random.Random(hashlib.sha256(prompt.encode()).digest())
    canvas = (
        Image.new("RGBA", size, (0, 0, 0, 0)) if transparent else _gradient(rng, size)
    ).convert("RGBA")
    _shapes(rng, canvas)
    _thumbnails(canvas, references)
    _caption(canvas, prompt)
    return encode(canvas if transparent else canvas.convert("RGB"), output_format, compression)


def partial(final: bytes, index: int, count: int, output_format: str) -> bytes:
    """The `index`-th of `count` partial images: the final one, blurred less as `index` rises."""
    with Image.open(io.BytesIO(final)) as image:
        picture = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    factor = 2 ** (count - index + 1)
    small = picture.reduce(factor)
    coarse = small.filter(ImageFilter.GaussianBlur(1)).resize(picture.size, Image.Resampling.BOX)
    return encode(coarse, output_format, 100)


def encode(picture: Image.Image, output_format: str, compression: int) -> bytes:
    kind = SAVE_FORMATS[output_format]
    if kind == "JPEG":
        picture = picture.convert("RGB")
    buffer = io.BytesIO()
    if kind == "PNG":
        picture.save(buffer, kind, compress_level=1)
    else:
        picture.save(buffer, kind, quality=max(1, compression))
    return buffer.getvalue()


def _colour(rng: random.Random, alpha: int = 255) -> tuple[int, int, int, int]:
    return (rng.randrange(40, 256), rng.randrange(40, 256), rng.randrange(40, 256), alpha)


def _gradient(rng: random.Random, size: Size) -> Image.Image:
    mask = Image.linear_gradient("L").rotate(rng.choice((0, 45, 90, 135))).resize(size)
    start = Image.new("RGBA", size, _colour(rng))
    end = Image.new("RGBA", size, _colour(rng))
    return Image.composite(start, end, mask)


def _shapes(rng: random.Random, canvas: Image.Image) -> None:
    width, height = canvas.size
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(rng.randrange(5, 10)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        box = (
            x0,
            y0,
            x0 + rng.randrange(width // 8, width // 2),
            y0 + rng.randrange(height // 8, height // 2),
        )
        fill = _colour(rng, rng.randrange(90, 200))
        shape = rng.choice(("ellipse", "rectangle", "triangle"))
        if shape == "ellipse":
            draw.ellipse(box, fill=fill)
        elif shape == "rectangle":
            draw.rounded_rectangle(box, radius=min(width, height) // 40, fill=fill)
        else:
            draw.polygon(
                [(box[0], box[3]), ((box[0] + box[2]) // 2, box[1]), (box[2], box[3])], fill=fill
            )
    canvas.alpha_composite(overlay)


def _thumbnails(canvas: Image.Image, references: tuple[bytes, ...]) -> None:
    if not references:
        return
    width, height = canvas.size
    side = min(height // 4, width // max(1, len(references)) - 16)
    x = 16
    for data in references:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_REFERENCE_PIXELS:
                continue
            thumb = ImageOps.contain(image.convert("RGBA"), (side, side))
        canvas.alpha_composite(thumb, (x, height - thumb.height - 16))
        x += thumb.width + 16


def _caption(canvas: Image.Image, prompt: str) -> None:
    width, _ = canvas.size
    font_size = max(12, width // 32)
    font = ImageFont.load_default(size=font_size)
    lines = textwrap.wrap(" ".join(prompt.split()), width=44)[:4] or [""]
    band = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(band)
    line_height = int(font_size * 1.3)
    draw.rectangle((0, 0, width, line_height * len(lines) + font_size), fill=(0, 0, 0, 140))
    for number, line in enumerate(lines):
        draw.text(
            (font_size // 2, font_size // 2 + number * line_height),
            line,
            font=font,
            fill=(255, 255, 255, 255),
        )
    canvas.alpha_composite(band)
