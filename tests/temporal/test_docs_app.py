"""docs/temporal.md's chat backend in three files, run as the page shows them: `myapp/agents.py`
and `myapp/worker.py` in a worker process of their own, `myapp/web.py`'s handlers called here,
a refund that waits for a person's approval, against the session's Temporal dev server and a
scripted model. Only the address differs: the page's `temporal:7233` is the dev server's."""

from __future__ import annotations

import importlib
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.server import LocalServer
from agentkit.server.plan import Call, Say

from .agents_app import effects
from .worker_process import STOP_SECONDS, stop_group

PAGE = Path(__file__).resolve().parents[2] / "docs/temporal.md"
PAYMENTS = '''
"""Stands in for a payment provider's client: each refund is a line in $EFFECTS_FILE."""
import os


def refund(order_id: str, amount: int) -> None:
    with open(os.environ["EFFECTS_FILE"], "a") as file:
        file.write(f"refund {order_id} {amount}\\n")
'''


def page_files() -> dict[str, str]:
    """The page's `# myapp/...` blocks, by file name."""
    blocks = re.findall(r"^```python\n# myapp/(\w+\.py)\n(.*?)^```", PAGE.read_text(), re.M | re.S)
    return dict(blocks)


@pytest.fixture
def myapp(tmp_path: Path, temporal_server: str) -> Iterator[Path]:
    """The page's package, in a folder on `sys.path`, talking to the dev server."""
    package = tmp_path / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "payments.py").write_text(PAYMENTS)
    files = page_files()
    assert sorted(files) == ["agents.py", "web.py", "worker.py"]
    for name, source in files.items():
        assert '"temporal:7233"' in source or name == "agents.py"
        (package / name).write_text(source.replace('"temporal:7233"', repr(temporal_server)))
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for module in [m for m in sys.modules if m == "myapp" or m.startswith("myapp.")]:
            del sys.modules[module]


@pytest.fixture
def worker(myapp: Path, model: LocalServer, tmp_path: Path) -> Iterator[None]:
    """`python -m myapp.worker`, the page's worker, in a process group of its own."""
    with (tmp_path / "worker.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "myapp.worker"],
            cwd=myapp,
            env={**os.environ, "PYTHONPATH": str(myapp)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield
        finally:
            stop_group(process, signal.SIGTERM, STOP_SECONDS)


async def test_the_pages_chat_backend_answers_after_an_approval(
    worker: None, model: LocalServer
) -> None:
    model.scripted.queue(
        Call("refund", '{"order_id": "o-17", "amount": 30}', call_id="call_refund"),
        Say("Order o-17 is refunded."),
    )
    web = importlib.import_module("myapp.web")
    await web.startup()
    chat = f"chat-{uuid.uuid4().hex[:8]}"

    asked = await web.post_message(chat, "m1", "Please refund order o-17, 30 EUR.")
    assert asked == {"approvals": ["call_refund"]}
    assert effects() == []  # nothing ran before the approval

    answered = await web.post_approval(chat, "call_refund", True)

    assert answered == {"answer": "Order o-17 is refunded."}
    assert effects() == ["refund o-17 30"]
    assert [r["background"] for r in model.requests] == [True, True]  # as the agent says
