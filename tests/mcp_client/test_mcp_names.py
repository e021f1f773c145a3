"""MCP tool names → function names: valid, unique, prefixed on clashes; default server names."""

from __future__ import annotations

import logging
import re

import pytest

from agentkit.tools import MCPServerHTTP, MCPServerStdio
from agentkit.tools.mcp.names import assign_names, function_name, server_slug

VALID = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def test_a_valid_name_is_kept() -> None:
    assert function_name("get_current_time") == "get_current_time"
    assert function_name("x" * 64) == "x" * 64


@pytest.mark.parametrize(
    "name",
    ["acme.weather/forecast", "with space", "x" * 65, "ünïcode-tool", "...", "a.b" * 40],
)
def test_an_invalid_name_is_sanitized_with_a_hash_of_the_original(name: str) -> None:
    mapped = function_name(name)

    assert VALID.fullmatch(mapped)
    assert re.fullmatch(r".*_[0-9a-f]{8}", mapped)
    assert function_name(name) == mapped  # deterministic across connections


def test_names_that_sanitize_alike_stay_distinct() -> None:
    names = {function_name(n) for n in ("a.b", "a/b", "a b", "a_b")}

    assert len(names) == 4
    assert function_name("acme.weather/forecast").startswith("acme_weather_forecast_")


def test_unique_names_are_not_prefixed() -> None:
    mappings = assign_names([("time", ["get_current_time"]), ("files", ["read.file"])])

    assert mappings == [
        {"get_current_time": "get_current_time"},
        {function_name("read.file"): "read.file"},
    ]


def test_names_clashing_across_servers_are_prefixed_with_the_server_name() -> None:
    mappings = assign_names([("time", ["now", "zones"]), ("clock", ["now"])])

    assert mappings == [{"time_now": "now", "zones": "zones"}, {"clock_now": "now"}]


def test_names_clashing_with_the_agents_own_tools_are_prefixed() -> None:
    mappings = assign_names([("time", ["now", "zones"])], reserved={"now"})

    assert mappings == [{"time_now": "now", "zones": "zones"}]


def test_a_name_a_server_lists_twice_is_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, "agentkit.mcp"):
        mappings = assign_names([("time", ["now", "now"])])

    assert mappings == [{"now": "now"}]
    assert "skipping tool 'now'" in caplog.text


def test_prefixed_names_that_get_too_long_are_shortened_with_a_hash() -> None:
    tool = "t" * 60
    (first, second) = assign_names([("alpha", [tool]), ("beta", [tool])])

    assert [VALID.fullmatch(name) is not None for name in [*first, *second]] == [True, True]
    assert list(first.values()) == list(second.values()) == [tool]
    assert set(first).isdisjoint(second)


@pytest.mark.parametrize(
    ("command", "args", "name"),
    [
        ("/usr/bin/python3.11", ["-m", "mcp_server_time"], "mcp_server_time"),
        ("uvx", ["mcp-server-time", "--local-timezone=UTC"], "mcp-server-time"),
        ("npx", ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"], "server-filesystem"),
        ("uv", ["run", "server.py"], "server"),
        ("node", ["build/index.js"], "index"),
        ("/opt/bin/github-mcp-server", ["stdio"], "github-mcp-server"),
        ("npx", ["weather@1.2.3"], "weather"),
    ],
)
def test_a_stdio_servers_default_name_comes_from_its_command_line(
    command: str, args: list[str], name: str
) -> None:
    assert MCPServerStdio(command, args=args).name == name


def test_an_http_servers_default_name_is_its_host() -> None:
    assert MCPServerHTTP("https://mcp.example.com/mcp").name == "mcp_example_com"
    assert MCPServerHTTP("http://127.0.0.1:8000/mcp", name="local").name == "local"


def test_server_slug_keeps_only_allowed_characters() -> None:
    assert server_slug("my server.v2!") == "my_server_v2"
    assert server_slug("...") == "mcp"
    assert len(server_slug("x" * 100)) == 32
