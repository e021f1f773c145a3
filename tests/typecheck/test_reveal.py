"""mypy and pyright agree on what `result.output` is (run here, as the users' checkers run)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
FILE = HERE / "reveal_output.py"
BIN = Path(sys.executable).parent


def revealed(command: list[str], pattern: str) -> dict[int, str]:
    """The revealed types a checker printed, by line, without module prefixes."""
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    found = {
        int(line): re.sub(r"\b[a-z_][\w]*\.", "", shown)
        for line, shown in re.findall(pattern, done.stdout)
    }
    assert found, done.stdout + done.stderr
    return found


def test_mypy_and_pyright_reveal_the_same_output_types() -> None:
    mypy = revealed(
        [str(BIN / "mypy"), "--no-incremental", str(FILE)],
        r"reveal_output\.py:(\d+): note: Revealed type is \"(.+)\"",
    )
    pyright = revealed(
        [str(BIN / "pyright"), "--pythonpath", sys.executable, str(FILE)],
        r"reveal_output\.py:(\d+):\d+ - information: Type of \".+\" is \"(.+)\"",
    )
    assert mypy == pyright
    assert list(mypy.values()) == ["Reply", "str", "list[Reply]", "int | None"]
