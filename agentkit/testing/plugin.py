"""agentkit's pytest plugin (registered as `agentkit`): local servers, agents pointed at them,
what the agents sent, and cassettes recorded once and replayed offline.

Fixtures (each test gets its own):
    agentkit_server: a local Responses server with its own database; every agent configured
        from the environment uses it during the test (auto engine; scripted when the test
        also asks for `agentkit_script`; other options by `@pytest.mark.agentkit(...)`).
    agentkit_script: a `ScriptedClient` queueing what the scripted server answers.
    agentkit_cassette: the test's cassette replayed (or, with `--agentkit-record`, recorded
        against the endpoint configured in the environment) instead of a local server.
    agentkit_agent: `agentkit_agent(agent=None, **changes)`, an agent pointed at the endpoint.
    agentkit_requests: the `POST /responses` bodies the endpoint received, read live.
    agentkit_tool_outputs: the tool outputs the model saw, oldest first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.testing.endpoints import Endpoint, Live, Requests, ToolOutput
    from agentkit.testing.scripted import ScriptedClient

MARKER = "agentkit"
RECORD_OPTION = "--agentkit-record"
CASSETTES = "cassettes"
_CALL_PASSED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("agentkit")
    group.addoption(
        RECORD_OPTION,
        action="store_true",
        help="record agentkit cassettes against the endpoint configured in the environment "
        "(AGENTKIT_BASE_URL, Azure OpenAI or OpenAI) instead of replaying them",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "agentkit(engine='auto', cassette=None, **server_options): the local server's "
        "engine and ServerConfig options, or the cassette (a path relative to the test file) "
        "for agentkit's fixtures",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_PASSED] = report.passed
    return report


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker(MARKER)
    return dict(marker.kwargs) if marker else {}


@pytest.fixture
def agentkit_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Endpoint]:
    """A local Responses server for this test, with its own database; agents configured from
    the environment use it (`AGENTKIT_BASE_URL` points there during the test)."""
    from agentkit.testing.endpoints import ServerEndpoint

    options = _options(request)
    options.pop("cassette", None)
    engine = options.pop("engine", None)
    if engine is None:
        engine = "scripted" if "agentkit_script" in request.fixturenames else "auto"
    endpoint = ServerEndpoint(tmp_path_factory.mktemp("agentkit"), engine, options)
    with _pointing_at(endpoint):
        yield endpoint


@pytest.fixture
def agentkit_script(agentkit_server: Endpoint) -> Iterator[ScriptedClient]:
    """Queue what the scripted server answers: `agentkit_script.queue(say("Hi"))`."""
    from agentkit.testing.scripted import ScriptedClient

    with ScriptedClient(agentkit_server.base_url, agentkit_server.api_key) as client:
        yield client


@pytest.fixture
def agentkit_cassette(request: pytest.FixtureRequest) -> Iterator[Endpoint]:
    """The test's cassette, replayed: a request that differs from the recorded one, or breaks
    the service's rules, is answered with a 400 and fails the test with a diff."""
    from agentkit.testing.endpoints import RecordEndpoint, ReplayEndpoint

    path = cassette_path(request)
    if request.config.getoption(RECORD_OPTION):
        recording = RecordEndpoint(path)
        with _pointing_at(recording):
            yield recording
        return
    if not path.exists():
        pytest.fail(
            f"no cassette at {path}: record it once with `pytest {RECORD_OPTION}` (against the "
            "endpoint in the environment) or `agentkit record`",
            pytrace=False,
        )
    replay = ReplayEndpoint(path)
    with _pointing_at(replay):
        yield replay
    report = replay.replayer.report()
    if report and request.node.stash.get(_CALL_PASSED, False):
        pytest.fail(f"agentkit replay of {path}:\n{report}", pytrace=False)
    elif report:
        request.node.add_report_section("call", "agentkit replay", report)


def cassette_path(request: pytest.FixtureRequest) -> Path:
    """The marker's `cassette=` (relative to the test file), else `cassettes/<file>/<test>.json`."""
    folder = Path(request.node.path).parent
    given = _options(request).get("cassette")
    if given:
        return folder / str(given)
    name = request.node.name.replace("/", "_").replace("[", "-").rstrip("]")
    return folder / CASSETTES / Path(request.node.path).stem / f"{name}.json"


@pytest.fixture
def agentkit_endpoint(request: pytest.FixtureRequest) -> Endpoint:
    """The cassette when the test uses one, else the local server."""
    uses_cassette = "agentkit_cassette" in request.fixturenames or "cassette" in _options(request)
    name = "agentkit_cassette" if uses_cassette else "agentkit_server"
    endpoint: Endpoint = request.getfixturevalue(name)
    return endpoint


@pytest.fixture
def agentkit_agent(agentkit_endpoint: Endpoint) -> Iterator[Callable[..., Agent[Any]]]:
    """`agentkit_agent(agent=None, **changes)`: `agent` (or a new `Agent(model="gpt-4o")`)
    with its client pointed at the test's endpoint."""
    import openai

    from agentkit import Agent

    clients: list[openai.OpenAI] = []

    def make(agent: Agent[Any] | None = None, **changes: Any) -> Agent[Any]:
        client = openai.OpenAI(
            base_url=agentkit_endpoint.base_url, api_key=agentkit_endpoint.api_key
        )
        clients.append(client)
        if agent is None:
            return Agent(**{"model": "gpt-4o", **changes, "client": client})
        return agent.clone(**changes, client=client)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def agentkit_requests(agentkit_endpoint: Endpoint) -> Requests:
    """The `POST /responses` bodies the test's endpoint received, oldest first."""
    return agentkit_endpoint.requests


@pytest.fixture
def agentkit_tool_outputs(agentkit_endpoint: Endpoint) -> Live[ToolOutput]:
    """The tool outputs the model was sent, oldest first (read live)."""
    from agentkit.testing.endpoints import Live

    return Live(agentkit_endpoint.tool_outputs)


class _pointing_at:
    """Points the environment's endpoint variables at `endpoint` for a block, then restores them
    and closes it."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.patch = pytest.MonkeyPatch()

    def __enter__(self) -> Endpoint:
        from agentkit.testing.endpoints import pointed_at

        for name, value in pointed_at(self.endpoint).items():
            if value is None:
                self.patch.delenv(name, raising=False)
            else:
                self.patch.setenv(name, value)
        return self.endpoint

    def __exit__(self, *exc: object) -> None:
        self.patch.undo()
        self.endpoint.close()
