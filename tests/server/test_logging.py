"""The server's log: one access line per request with the id the response header carries, and
every unexpected error's traceback at ERROR, never a body or a key (in process and from a real
`agentkit serve`)."""

from __future__ import annotations

import logging
import re
import signal
import sqlite3
from pathlib import Path

import httpx2
import pytest
from serve_process import Serve

from agentkit.server import LocalServer
from agentkit.server.http.access import AccessLog
from agentkit.server.plan import Planned, Turn

ACCESS = re.compile(r"^(\S+) (\S+) (\S+) (\d+\.\d)ms (req_[0-9a-f]+)$")
SERVER_ERROR = {
    "message": "The server had an error processing your request.",
    "type": "server_error",
    "param": None,
    "code": None,
}


class BrokenEngine:
    """An engine with a bug: every turn raises."""

    name = "broken"

    async def respond(self, turn: Turn) -> list[Planned]:
        raise RuntimeError("the engine broke")


def access_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, ...]]:
    records = [r for r in caplog.records if r.name == "agentkit.server.access"]
    assert all(r.levelno == logging.INFO for r in records)
    lines = [ACCESS.match(r.getMessage()) for r in records]
    assert all(lines), [r.getMessage() for r in records]
    return [line.groups() for line in lines if line]


def test_each_request_has_one_access_line_with_its_response_header_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="agentkit.server")
    secret = "sk-not-to-be-logged"
    with LocalServer(api_key=secret) as server, httpx2.Client(base_url=server.base_url) as http:
        keyed = {"api-key": secret}
        created = http.post(
            "/responses", json={"model": "m", "input": "private words"}, headers=keyed
        )
        missing = http.get("/responses/resp_nope?api-key=x", headers=keyed)
        unkeyed = http.get(f"/responses/{created.json()['id']}")
        streamed = http.post(
            "/responses", json={"model": "m", "input": "hi", "stream": True}, headers=keyed
        )
    answers = [created, missing, unkeyed, streamed]
    assert [a.status_code for a in answers] == [200, 404, 401, 200]
    assert [
        (method, path, status, rid) for method, path, status, _, rid in access_lines(caplog)
    ] == [
        ("POST", "/v1/responses", "200", created.headers["x-request-id"]),
        ("GET", "/v1/responses/resp_nope", "404", missing.headers["x-request-id"]),
        ("GET", f"/v1/responses/{created.json()['id']}", "401", unkeyed.headers["x-request-id"]),
        ("POST", "/v1/responses", "200", streamed.headers["x-request-id"]),
    ]
    assert len({a.headers["x-request-id"] for a in answers}) == 4
    logged = caplog.text
    assert secret not in logged and "private words" not in logged and "api-key" not in logged


def test_an_unexpected_error_is_a_500_with_its_traceback_at_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="agentkit.server")
    with LocalServer(engine=BrokenEngine()) as server:
        answer = httpx2.post(f"{server.base_url}/responses", json={"model": "m", "input": "x"})
    assert (answer.status_code, answer.json()) == (500, {"error": SERVER_ERROR})
    rid = answer.headers["x-request-id"]
    [failure] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert (failure.name, failure.levelname) == ("agentkit.server", "ERROR")
    assert failure.getMessage() == f"unexpected error in POST /v1/responses (request {rid})"
    assert failure.exc_info is not None
    assert str(failure.exc_info[1]) == "the engine broke"
    assert access_lines(caplog)[0][2:3] == ("500",)


async def test_an_error_outside_the_routes_is_still_a_500_in_the_service_shape(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def failing_app(scope: object, receive: object, send: object) -> None:
        raise KeyError("outside any route")

    transport = httpx2.ASGITransport(app=AccessLog(failing_app))
    async with httpx2.AsyncClient(transport=transport, base_url="http://test") as http:
        answer = await http.get("/anything")
    assert (answer.status_code, answer.json()) == (500, {"error": SERVER_ERROR})
    rid = answer.headers["x-request-id"]
    [failure] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failure.getMessage() == f"unexpected error in GET /anything (request {rid})"
    assert failure.exc_info is not None


def test_serve_logs_a_500s_traceback_with_its_request_id(tmp_path: Path, serve: Serve) -> None:
    db = tmp_path / "logged.db"
    running = serve("--db", str(db), "--log-level", "warning")
    base = f"{running.url}/v1"
    created = httpx2.post(f"{base}/responses", json={"model": "m", "input": "x"})
    with sqlite3.connect(db) as damage:  # a row another program broke: not JSON any more
        damage.execute("INSERT INTO responses VALUES ('resp_broken', 0, NULL, '{oops', '[]')")
    broken = httpx2.get(f"{base}/responses/resp_broken")
    assert (created.status_code, broken.status_code) == (200, 500)
    assert broken.json() == {"error": SERVER_ERROR}
    rid = broken.headers["x-request-id"]
    running.wait_for_log(r"JSONDecodeError")
    code, _, log = running.stop(signal.SIGINT)
    assert code == 0
    header = (
        f"ERROR agentkit.server: unexpected error in GET /v1/responses/resp_broken (request {rid})"
    )
    assert header in log
    assert "Traceback (most recent call last):" in log.split(header, 1)[1]
    assert "agentkit.server.access" not in log  # --log-level warning: no access lines
