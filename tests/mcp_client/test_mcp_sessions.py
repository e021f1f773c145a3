"""Real MCP sessions: listing, routing, results, errors, timeouts, secrets, process lifecycle."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator

import pytest
from mcp_servers import (
    ODD_NAME,
    PHOTO_PNG,
    TOKEN,
    HTTPServer,
    no_new_servers,
    server_pids,
    time_server,
)

from agentkit import RunContext
from agentkit.tools import MCPConnectionError, MCPServerHTTP, MCPServerStdio
from agentkit.tools.mcp import MCPTool
from agentkit.tools.mcp.connection import Toolset, connect
from agentkit.tools.mcp.names import function_name

CTX: RunContext[None] = RunContext(None)


@pytest.fixture
async def http_tools(mcp_http: HTTPServer) -> AsyncIterator[Toolset]:
    toolset = await connect(
        [MCPServerHTTP(mcp_http.url, name="local", headers={"Authorization": TOKEN}, timeout=2)]
    )
    try:
        yield toolset
    finally:
        await toolset.close()


async def call(toolset: Toolset, name: str, arguments: object) -> str:
    return await toolset.tools[name].invoke(CTX, json.dumps(arguments), call_id="call_1")


async def test_every_tool_is_offered_under_a_valid_name_and_routed_back(
    http_tools: Toolset,
) -> None:
    odd = function_name(ODD_NAME)

    expected = [odd, "count_keys", "explode", "refuse", "make_point", "whoami", "slow_task"]
    assert sorted(http_tools.tools) == sorted([*expected, "snapshot", "photo", "get_current_time"])
    tool = http_tools.tools[odd]
    assert isinstance(tool, MCPTool)
    assert (tool.mcp_name, tool.server) == (ODD_NAME, "local")
    assert tool.to_param() == {
        "type": "function",
        "name": odd,
        "description": "The forecast for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            },
            "required": ["city", "days"],
            "additionalProperties": False,
        },
        "strict": True,
    }
    assert await call(http_tools, odd, {"city": "Paris", "days": 3}) == (
        "forecast for Paris: sunny for 3 day(s)"
    )


async def test_a_null_for_an_optional_argument_lets_the_servers_default_apply(
    http_tools: Toolset,
) -> None:
    output = await call(http_tools, function_name(ODD_NAME), {"city": "Oslo", "days": None})

    assert output == "forecast for Oslo: sunny for 1 day(s)"


async def test_a_non_strict_tool_works_with_free_form_arguments(http_tools: Toolset) -> None:
    tool = http_tools.tools["count_keys"]

    assert tool.strict is False
    assert await call(http_tools, "count_keys", {"data": {"b": 1, "a": [2]}}) == "2 keys: a, b"


async def test_structured_content_becomes_json(http_tools: Toolset) -> None:
    assert await call(http_tools, "make_point", {"x": 1, "y": -2}) == '{"x":1,"y":-2}'


async def test_an_image_reaches_the_model_as_an_image_part(http_tools: Toolset) -> None:
    parts = await http_tools.tools["photo"].output(RunContext(None), "{}")
    assert parts == [
        {"type": "input_text", "text": "a photo"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{PHOTO_PNG}"},
    ]
    assert await call(http_tools, "photo", {}) == "a photo"  # the text, for events


async def test_an_image_that_does_not_decode_stays_a_placeholder(http_tools: Toolset) -> None:
    output = await http_tools.tools["snapshot"].output(RunContext(None), "{}")
    assert output == "a snapshot\n[image content: image/png, 8 bytes; not shown to the model]"


async def test_tool_failures_are_error_outputs_the_model_can_read(http_tools: Toolset) -> None:
    assert await call(http_tools, "explode", {}) == "Error: Error executing tool explode"
    assert await call(http_tools, "refuse", {"reason": "closed"}) == (
        "Error: Error executing tool refuse: refused: closed"
    )
    assert (await call(http_tools, "refuse", {})).startswith("Error: ")  # server-side validation
    assert await http_tools.tools["refuse"].invoke(CTX, "[1]") == (
        "Error: the arguments must be a JSON object, not list. "
        "Call refuse again with a JSON object."
    )


async def test_a_call_that_takes_too_long_times_out_as_an_error_output(
    http_tools: Toolset,
) -> None:
    assert await call(http_tools, "slow_task", {"seconds": 10}) == (
        "Error: slow_task timed out after 2 s"
    )
    assert await call(http_tools, "slow_task", {"seconds": 0}) == "done"  # the session goes on


async def test_headers_reach_the_server_on_every_request(
    http_tools: Toolset, mcp_http: HTTPServer
) -> None:
    # whoami answers with the header it got: the model reads it scrubbed.
    assert await call(http_tools, "whoami", {}) == "authorization=***"
    assert mcp_http.seen
    assert set(mcp_http.authorizations) == {TOKEN}


async def test_concurrent_calls_share_one_session(http_tools: Toolset) -> None:
    outputs = await asyncio.gather(
        *(call(http_tools, "make_point", {"x": i, "y": i}) for i in range(10))
    )

    assert outputs == [f'{{"x":{i},"y":{i}}}' for i in range(10)]


async def test_allowed_tools_limits_what_is_offered(mcp_http: HTTPServer) -> None:
    server = MCPServerHTTP(
        mcp_http.url, headers={"Authorization": TOKEN}, allowed_tools=["whoami", "missing"]
    )
    toolset = await connect([server])
    await toolset.close()

    assert list(toolset.tools) == ["whoami"]


async def test_a_refused_connection_fails_with_no_secret_in_the_error_or_logs(
    mcp_http: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Bearer wrong-and-secret"
    server = MCPServerHTTP(mcp_http.url, headers={"Authorization": secret}, connect_timeout=10)

    with caplog.at_level(logging.DEBUG), pytest.raises(MCPConnectionError) as raised:
        await connect([server])

    assert str(raised.value).startswith("Could not connect to MCP server '127_0_0_1': ")
    assert raised.value.__cause__ is None
    assert mcp_http.authorizations == [secret]  # the server did get it
    for text in (str(raised.value), repr(raised.value), caplog.text):
        assert "wrong-and-secret" not in text


async def test_an_unreachable_server_fails_with_a_connection_error() -> None:
    with pytest.raises(MCPConnectionError, match="ConnectError"):
        await connect([MCPServerHTTP("http://127.0.0.1:9/mcp", name="nowhere")])


async def test_a_command_that_does_not_exist_fails_with_a_connection_error() -> None:
    with pytest.raises(MCPConnectionError, match="No such file or directory"):
        await connect([MCPServerStdio("/nonexistent/mcp-server")])


async def test_a_server_that_never_answers_times_out_and_is_stopped() -> None:
    marker = "agentkit-silent-server"
    silent = MCPServerStdio(
        sys.executable, args=["-c", f"import time; time.sleep(60)  # {marker}"], connect_timeout=1
    )

    with pytest.raises(MCPConnectionError, match="did not connect and list its tools within 1"):
        await connect([silent])

    assert server_pids(marker) == set()


async def test_when_one_server_fails_the_others_are_closed_too(mcp_http: HTTPServer) -> None:
    with no_new_servers(), pytest.raises(MCPConnectionError, match="nowhere"):
        await connect([time_server(), MCPServerHTTP("http://127.0.0.1:9/mcp", name="nowhere")])


async def test_the_stdio_server_process_is_gone_after_close() -> None:
    with no_new_servers():
        toolset = await connect([time_server(name="time")])
        (pid,) = server_pids()
        output = await call(toolset, "get_current_time", {"timezone": "Europe/Paris"})
        await toolset.close()

        assert json.loads(output)["timezone"] == "Europe/Paris"
        assert pid not in server_pids()


async def test_a_server_that_died_gives_error_outputs_and_closes_cleanly() -> None:
    with no_new_servers():
        toolset = await connect([time_server(name="time", timeout=5)])
        (pid,) = server_pids()
        os.kill(pid, signal.SIGKILL)

        output = await call(toolset, "get_current_time", {"timezone": "UTC"})
        await toolset.close()

    assert output.startswith("Error: get_current_time ")


async def test_cancelling_a_connect_stops_the_server() -> None:
    with no_new_servers():
        task = asyncio.create_task(connect([time_server()]))
        while not server_pids():  # noqa: ASYNC110 (waiting on another process)
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
