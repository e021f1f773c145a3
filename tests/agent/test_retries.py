"""Model-call failures: transient ones retried, permanent ones raised with the run's state."""

from __future__ import annotations

import pytest

from agentkit import ModelCallError, ModelSettings, RetryPolicy, RunState, tool
from agentkit.server import LocalServer
from agentkit.server.plan import Call, Fail, Say

from .conftest import AgentFactory

FAST = RetryPolicy(initial_backoff=0.01, max_backoff=0.05, jitter=0)


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


async def test_throttled_call_is_retried_after_the_server_asked_delay(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(
        Fail(429, "slow down", type="rate_limit_error", headers={"retry-after-ms": "20"}),
        Say("Hello."),
    )
    result = await scripted_agent(retry=FAST).run("hi")

    assert result.output == "Hello."
    assert len(scripted.requests) == 2
    assert scripted.requests[0] == scripted.requests[1]
    assert result.usage.requests == 1


async def test_retry_mid_run_resends_the_same_tool_outputs(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(
        Call("get_weather", '{"city": "Oslo"}', call_id="call_1"),
        Fail(502, "bad gateway"),
        Say("Sunny."),
    )
    result = await scripted_agent(tools=[get_weather], retry=FAST).run("weather")

    assert result.output == "Sunny."
    _, failed, retried = scripted.requests
    assert failed == retried
    assert retried["input"] == [
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny in Oslo"}
    ]


async def test_insufficient_quota_is_not_retried(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(
        Fail(429, "You exceeded your quota.", type="insufficient_quota", code="insufficient_quota"),
        Say("never"),
    )
    with pytest.raises(ModelCallError, match=r"You exceeded your quota\.") as caught:
        await scripted_agent(retry=FAST).run("hi")

    assert (caught.value.status_code, caught.value.code) == (429, "insufficient_quota")
    assert len(scripted.requests) == 1


async def test_server_errors_exhaust_the_attempts_and_raise_with_the_state(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05, jitter=0)
    scripted.scripted.queue(
        Call("get_weather", '{"city": "Rome"}', call_id="call_1"),
        *[Fail(500, "The server had an error.")] * 3,
    )
    with pytest.raises(ModelCallError, match=r"The server had an error\.") as caught:
        await scripted_agent(tools=[get_weather], retry=policy).run("weather")

    error = caught.value
    assert error.status_code == 500
    assert len(scripted.requests) == 4
    state = error.state
    assert isinstance(state, RunState)
    assert [i["type"] for i in state.new_items] == [
        "message",
        "function_call",
        "function_call_output",
    ]
    assert state.turn == 1
    assert state.conversation.unsent() == [state.new_items[-1]]
    assert RunState.from_json(state.to_json()).to_dict() == state.to_dict()


async def test_bad_request_is_not_retried(
    scripted: LocalServer, scripted_agent: AgentFactory
) -> None:
    scripted.scripted.queue(
        Fail(400, "Invalid value for 'input'.", type="invalid_request_error", code="invalid_value"),
        Say("never"),
    )
    with pytest.raises(ModelCallError) as caught:
        await scripted_agent(retry=FAST).run("hi")

    assert (caught.value.status_code, caught.value.code) == (400, "invalid_value")
    assert isinstance(caught.value.state, RunState)
    assert len(scripted.requests) == 1


async def test_real_service_400_is_raised_not_retried(
    server: LocalServer, agent: AgentFactory
) -> None:
    with pytest.raises(ModelCallError, match="Unknown parameter") as caught:
        await agent(settings=ModelSettings(extra_body={"bogus": 1})).run("hi")
    assert caught.value.status_code == 400
    assert len(server.requests) == 1
