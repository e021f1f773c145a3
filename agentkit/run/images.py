"""Pictures the image generation tool made during a run (`RunResult.images`)."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Item = dict[str, Any]


@dataclass(frozen=True)
class GeneratedImage:
    """One generated picture: its bytes and what the service said about it."""

    data: bytes = field(repr=False)
    id: str
    output_format: str
    """`png`, `jpeg` or `webp`."""
    size: str | None = None
    revised_prompt: str | None = None

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the picture to `path` (its bytes as they came) and return the path."""
        target = Path(path)
        target.write_bytes(self.data)
        return target


def images_in(items: list[Item]) -> list[GeneratedImage]:
    """The finished pictures among `items`, oldest first."""
    return [
        GeneratedImage(
            data=base64.b64decode(item["result"]),
            id=str(item.get("id", "")),
            output_format=str(item.get("output_format") or "png"),
            size=item.get("size"),
            revised_prompt=item.get("revised_prompt"),
        )
        for item in items
        if item.get("type") == "image_generation_call" and item.get("result")
    ]
