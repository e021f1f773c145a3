"""Installing agentkit-responses into a fresh virtualenv, offline, as a user would.

The virtualenv installs a copy of this repository's package (`pip install <path>`), with no
index: only the wheels `./dev` setup fetched into `.cache/wheels`. Without an extra, no
server dependency is installed and agentkit works against a remote endpoint; what needs the
server says which extra to install. With `[server]`, the README's first agent runs as pasted,
with nothing configured. One virtualenv, built once for this module; the tests run in order.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentkit.server import LocalServer

ROOT = Path(__file__).resolve().parents[1]
WHEELS = ROOT / ".cache" / "wheels"
SERVER_DEPENDENCIES = (
    "uvicorn",
    "starlette",
    "pillow",
    "pypdf",
    "cryptography",
    "python-multipart",
    "mcp",
    "sse-starlette",
)
OTHER_EXTRAS = ("azure-identity", "rich", "temporalio")
SERVER_EXTRA = "pip install 'agentkit-responses[server]'"
README_ANSWER = (
    'Here is what the tools returned: get_weather returned {"city":"Paris","temperature_c":21}.'
)
pytestmark = pytest.mark.timeout(600)


@dataclass
class Venv:
    path: Path
    source: Path

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.path / "bin" / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=300,
            env={**clean_env(), **(env or {})},
            cwd=self.path.parent,
        )

    def pip_install(self, requirement: str) -> None:
        done = self.run(
            "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
            "--no-index", "--find-links", str(WHEELS), requirement,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr

    def installed(self) -> set[str]:
        listed = self.run(
            "python", "-m", "pip", "list", "--format=json", "--disable-pip-version-check"
        )
        return {entry["name"].lower() for entry in json.loads(listed.stdout)}

    def python(
        self, code: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        script = self.path.parent / "script.py"
        script.write_text(code)
        return self.run("python", str(script), env=env)


def clean_env() -> dict[str, str]:
    """A shell with no agentkit, Azure or OpenAI settings and no index to reach."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT")
    return {k: v for k, v in os.environ.items() if k in keep} | {"PIP_NO_INDEX": "1"}


def readme_agent() -> str:
    """The README's first Python block: the first agent, as a user would paste it."""
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)[0]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    """A fresh virtualenv with `pip install <copy of this repository>`, no extras."""
    if not (WHEELS / ".downloaded").exists():
        message = f"no wheels in {WHEELS}: `./dev test` fetches them (it needs PyPI once)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("install")
    source = folder / "agentkit-src"
    shutil.copytree(
        ROOT / "agentkit", source / "agentkit", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "venv", str(folder / "venv")], check=True, timeout=120)
    made = Venv(folder / "venv", source)
    made.pip_install(str(source))
    yield made


def test_without_extras_no_server_dependency_is_installed(venv: Venv) -> None:
    installed = venv.installed()

    assert {"agentkit-responses", "openai", "pydantic"} <= installed
    assert [name for name in SERVER_DEPENDENCIES + OTHER_EXTRAS if name in installed] == []
    done = venv.python("import agentkit, agentkit.testing\nprint(agentkit.__version__)")
    assert (done.returncode, done.stdout, done.stderr) == (0, "0.1.0\n", "")


def test_without_extras_an_agent_runs_against_a_remote_endpoint(venv: Venv) -> None:
    with LocalServer(api_key="remote-key") as remote:
        env = {"AGENTKIT_BASE_URL": remote.base_url, "AGENTKIT_API_KEY": "remote-key"}
        done = venv.python(readme_agent(), env=env)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == README_ANSWER
    assert len(remote.requests) == 3  # two model calls, then the follow-up


def test_without_extras_what_needs_an_extra_names_it(venv: Venv) -> None:
    local = venv.python(readme_agent())  # nothing configured: the embedded server is needed
    azure = venv.python(
        "from agentkit import Agent\nAgent(model='m').run_sync('Hi')",
        env={"AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9"},
    )
    serve = venv.run("agentkit", "serve")
    chat = venv.run("agentkit", "chat", "app:agent")

    assert local.returncode == 1
    assert re.fullmatch(
        r"agentkit\.errors\.ConfigurationError: AGENTKIT_BASE_URL=local needs agentkit's local "
        r"server, whose dependencies are not installed \(\w+\): " + re.escape(SERVER_EXTRA),
        local.stderr.strip().splitlines()[-1],
    )
    assert azure.returncode == 1
    assert "pip install 'agentkit-responses[azure]'" in azure.stderr
    assert "AZURE_OPENAI_API_KEY is not set" in azure.stderr
    assert (serve.returncode, serve.stdout) == (2, "")
    assert serve.stderr.endswith(f"(uvicorn): {SERVER_EXTRA}\n")
    assert (chat.returncode, chat.stderr) == (
        2,
        "agentkit chat needs rich: pip install 'agentkit-responses[cli]'\n",
    )


def test_with_the_server_extra_the_readme_agent_runs_offline_as_pasted(venv: Venv) -> None:
    venv.pip_install(f"{venv.source}[server]")

    done = venv.python(readme_agent())

    assert [name for name in SERVER_DEPENDENCIES if name not in venv.installed()] == []
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[0] == README_ANSWER
    assert len(done.stdout.splitlines()) == 2  # the follow-up's answer
