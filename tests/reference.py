"""The shared reference material (`../shared/reference`) for tests that read it."""

from __future__ import annotations

from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


def reference_path(*parts: str) -> Path:
    """A file under ../shared/reference, or skip the test when it is not there."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not present (the shared reference material is outside the repo)")
    return path
