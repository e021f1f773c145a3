"""The shared reference material (`../shared/reference`) for tests that read it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


def reference_path(*parts: str) -> Path:
    """A file under ../shared/reference, or skip the test when it is not there."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not present (the shared reference material is outside the repo)")
    return path


# Where every capture of the live service sends less than OpenAI's spec requires, the server
# sends what the service does, so that no client comes to rely on a field it would not get live:
# no `name` on `response.function_call_arguments.done` (all OpenAI and Azure captures), and no
# `result` on the `image_generation_call` that `response.output_item.added` carries
# (`openai-image-generation-tool.1`, `azure-image-generation-tool.1`). Strict validation reports
# exactly these; `spec_errors` leaves them out and nothing else.
LIVE_OMISSIONS = (
    re.compile(
        r"response\.function_call_arguments\.done \[ResponseFunctionCallArgumentsDoneEvent\] "
        r"\(root\): 'name' is a required property$"
    ),
    re.compile(r"response\.output_item\.added \[.*\] item: 'result' is a required property$"),
)


def spec_errors(errors: list[str]) -> list[str]:
    """A strict validator's errors, less the documented `LIVE_OMISSIONS`."""
    return [error for error in errors if not any(p.search(error) for p in LIVE_OMISSIONS)]
