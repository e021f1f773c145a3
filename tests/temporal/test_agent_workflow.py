"""AgentWorkflow and TemporalAgent end to end: a real dev server, real workers, a scripted model
over HTTP. Each conversation's history is replayed afterwards, to prove the loop deterministic."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from agentkit.server import LocalServer
from agentkit.server.plan import Call, Hosted, Say, Think
from agentkit.temporal import (
    AgentWorkflow,
    AgentWorkflowInput,
    ApprovalDecision,
    ConversationClient,
)

from . import agents_app
from .agents_app import Careful, Desk, Quote, Traced, effects, make_worker
from .history import activities, raw, replay
from .worker_process import TESTS


def conversation_id() -> str:
    return f"chat-{uuid.uuid4().hex[:8]}"


def chats(
    client: Client, queue: str, agent: str = "assistant", **start: object
) -> ConversationClient:
    options = AgentWorkflowInput(agent, **start)  # type: ignore[arg-type]
    return ConversationClient(client, agent=agent, task_queue=queue, start=options)


async def test_a_conversation_runs_tools_as_activities_over_several_turns(
    agents_client: Client, task_queue: str, model: LocalServer
) -> None:
    model.scripted.queue(
        Call("record", '{"tag": "A"}', call_id="call_a"),
        Say("Recorded A."),
        Say("Still here."),
    )
    conversations, chat = chats(agents_client, task_queue), conversation_id()

    first = await conversations.send(chat, "record A")
    second = await conversations.send(chat, "are you there?")

    assert (first.status, first.output) == ("answered", "Recorded A.")
    assert (second.status, second.output) == ("answered", "Still here.")
    assert first.usage.requests == 2 and second.usage.requests == 1
    [effect] = effects()
    assert effect.startswith("A ") and effect.endswith(":call_a")
    # chained by previous_response_id: the last request sends only the new message
    assert model.requests[2]["previous_response_id"] == first.response_ids[-1]
    assert [i["type"] for i in model.requests[2]["input"]] == ["message"]
    transcript = await conversations.conversation(chat)
    assert [i["type"] for i in transcript.items] == [
        "message", "function_call", "function_call_output", "message", "message", "message"
    ]  # fmt: skip
    history = await agents_client.get_workflow_handle(chat).fetch_history()
    assert activities(history) == [
        "assistant.model", "assistant.tool", "assistant.model", "assistant.model"
    ]  # fmt: skip
    await replay(history)


async def test_a_paused_run_is_approved_by_another_process_after_its_worker_is_gone(
    agents_client: Client, model: LocalServer, temporal_server: str
) -> None:
    model.scripted.queue(Call("send_email", '{"to": "bob"}', call_id="call_mail"), Say("Sent."))
    queue, chat = f"approvals-{uuid.uuid4().hex[:8]}", conversation_id()
    conversations = chats(agents_client, queue)
    async with make_worker(agents_client, queue):
        paused = await conversations.send(chat, "email bob")
        assert paused.status == "paused"
        [request] = paused.pending_approvals
        assert (request.id, request.tool, request.arguments) == (
            "call_mail",
            "send_email",
            {"to": "bob"},
        )
        assert await conversations.pending_approvals(chat) == [request]
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await conversations.send(chat, "and alice?")
        assert "waits for approvals first: call_mail" in str(refused.value.cause)
        with pytest.raises(WorkflowUpdateFailedError) as unknown:
            await conversations.decide(chat, "call_nope", approve=True)
        assert "No approval request 'call_nope' is pending" in str(unknown.value.cause)
    assert effects() == []  # nothing ran, and no worker holds the paused run now

    answering = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "temporal.answer_approval", temporal_server, chat, "call_mail", "approve",
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with make_worker(agents_client, queue):  # a fresh worker: it replays the history
        out, _ = await asyncio.wait_for(answering.communicate(), 60)
    assert answering.returncode == 0
    outcome = json.loads(out)
    assert (outcome["status"], outcome["output"], outcome["pending_approvals"]) == (
        "answered",
        "Sent.",
        [],
    )
    [effect] = effects()
    assert effect.startswith("email:bob ") and effect.endswith(":call_mail")

    history = await agents_client.get_workflow_handle(chat).fetch_history()
    accepted = [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert len(accepted) == 2  # the message and the decision; the refused updates left no trace
    assert activities(history) == ["assistant.model", "assistant.tool", "assistant.model"]
    await replay(history)


async def test_a_rejected_call_never_runs_and_the_model_is_told_why(
    agents_client: Client, task_queue: str, model: LocalServer
) -> None:
    model.scripted.queue(Call("send_email", '{"to": "eve"}', call_id="call_eve"), Say("Not sent."))
    conversations, chat = chats(agents_client, task_queue), conversation_id()
    await conversations.send(chat, "email eve")

    outcome = await conversations.decide(chat, "call_eve", approve=False, reason="eve is a spy")

    assert (outcome.status, outcome.output) == ("answered", "Not sent.")
    assert effects() == []
    [answer] = [i for i in model.requests[1]["input"] if i["type"] == "function_call_output"]
    assert (
        answer["output"]
        == "The user declined to run send_email; it was not called. Their reason: eve is a spy"
    )
    # A retried HTTP request for the same approval gets the same answer; nothing runs again.
    assert await conversations.decide(chat, "call_eve", approve=True) == outcome
    assert len(model.requests) == 2
    handle = agents_client.get_workflow_handle(chat)
    with pytest.raises(WorkflowUpdateFailedError) as refused:  # any other decision is refused
        await handle.execute_update(AgentWorkflow.decide, ApprovalDecision("call_eve", True))
    assert "No run of this conversation waits for approvals" in str(refused.value.cause)


async def test_stateless_runs_carry_encrypted_reasoning_in_the_workflow(
    agents_client: Client, task_queue: str, model: LocalServer
) -> None:
    model.scripted.queue(
        [Think("I will record it."), Call("record", '{"tag": "R"}', call_id="call_r")],
        [Think("Done."), Say("Recorded R.")],
        Say("Yes."),
    )
    conversations, chat = chats(agents_client, task_queue, agent="reasoner"), conversation_id()

    assert (await conversations.send(chat, "record R")).output == "Recorded R."
    assert (await conversations.send(chat, "done?")).output == "Yes."

    for request in model.requests:
        assert request["store"] is False and "previous_response_id" not in request
        assert "reasoning.encrypted_content" in request["include"]
    replayed = model.requests[2]["input"]
    reasoning = [i for i in replayed if i["type"] == "reasoning"]
    assert len(reasoning) == 2 and all(i["encrypted_content"] for i in reasoning)
    transcript = await conversations.conversation(chat)
    assert transcript.last_response_id is None
    kept = [i for i in transcript.items if i["type"] == "reasoning"]
    assert kept[:2] == reasoning and all(i["encrypted_content"] for i in kept)
    await replay(await agents_client.get_workflow_handle(chat).fetch_history())


async def test_a_stateless_conversation_keeps_its_code_interpreter_container(
    agents_client: Client, task_queue: str, model: LocalServer
) -> None:
    model.scripted.queue(
        Hosted("code_interpreter", options={"code": "secret = 'kept'"}),
        Say("Stored."),
        Hosted("code_interpreter", options={"code": "print(secret)"}),
        Say("Printed."),
    )
    conversations, chat = chats(agents_client, task_queue, agent="analyst"), conversation_id()

    await conversations.send(chat, "store a secret")
    await conversations.send(chat, "print it")

    calls = [
        i for i in (await conversations.conversation(chat)).items
        if i["type"] == "code_interpreter_call"
    ]  # fmt: skip
    assert len(calls) == 2 and calls[0]["container_id"] == calls[1]["container_id"]
    second = model.requests[1]
    assert second["store"] is False and "previous_response_id" not in second
    [tool] = second["tools"]
    assert tool["container"] == calls[0]["container_id"]  # pinned from the workflow's state


async def test_a_client_side_mcp_tool_runs_as_an_activity(
    agents_client: Client, task_queue: str, model: LocalServer
) -> None:
    model.scripted.queue(Call("add_note", '{"text": "milk"}', call_id="call_n"), Say("Noted."))
    conversations, chat = chats(agents_client, task_queue, agent="notetaker"), conversation_id()

    assert (await conversations.send(chat, "note milk")).output == "Noted."

    [offered] = model.requests[0]["tools"]
    assert (offered["type"], offered["name"]) == ("function", "add_note")
    [output] = [i for i in model.requests[1]["input"] if i["type"] == "function_call_output"]
    assert output["output"] == "noted: milk"  # from the server the worker started, with its token
    history = await agents_client.get_workflow_handle(chat).fetch_history()
    assert activities(history) == [
        "notetaker.mcp_tools", "notetaker.model", "notetaker.tool", "notetaker.model"
    ]  # fmt: skip
    assert agents_app.NOTES_TOKEN.encode() not in raw(history)  # its environment stays there
    await replay(history)


async def test_a_failed_run_fails_its_message_with_its_state_and_the_conversation_goes_on(
    agents_client: Client, task_queue: str, model: LocalServer
) -> None:
    model.scripted.queue(Call("record", '{"tag": "X"}', call_id="call_x"))
    conversations = chats(agents_client, task_queue, max_turns=1)
    chat = conversation_id()

    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await conversations.send(chat, "record X")

    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "MaxTurnsExceeded"
    state = cause.details[0]["state"]
    assert (state["status"], state["turn"]) == ("failed", 1)
    assert (await conversations.conversation(chat)).items == []
    model.scripted.queue(Say("Hello again."))
    assert (await conversations.send(chat, "hi")).output == "Hello again."


async def test_a_conversation_continues_as_new_with_its_transcript(
    agents_client: Client, task_queue: str, model: LocalServer
) -> None:
    model.scripted.queue(Say("One."), Say("Two."))
    conversations, chat = chats(agents_client, task_queue, turns_per_run=1), conversation_id()
    handle = agents_client.get_workflow_handle(chat)

    first = await conversations.send(chat, "one")
    first_run = (await handle.describe()).run_id
    await conversations.send(chat, "two")
    second_run = (await handle.describe()).run_id
    ended = await conversations.end(chat)

    assert first_run != second_run
    assert model.requests[1]["previous_response_id"] == first.response_ids[-1]
    assert [i["type"] for i in ended.items] == ["message"] * 4


async def test_a_workflow_of_ones_own_runs_an_agent_with_a_typed_context(
    agents_client: Client, task_queue: str, model: LocalServer
) -> None:
    model.scripted.queue(Call("price", '{"item": "widget"}', call_id="call_p"), Say("Priced."))

    handle = await agents_client.start_workflow(
        Quote.run, "widget", id=f"quote-{uuid.uuid4().hex[:8]}", task_queue=task_queue
    )

    assert await handle.result() == "Priced."
    [output] = [i for i in model.requests[1]["input"] if i["type"] == "function_call_output"]
    assert output["output"] == "widget at Corner: 90 EUR (Shop)"
    await replay(await handle.fetch_history())


async def test_a_handoff_runs_the_next_agents_calls_as_its_activities(
    agents_client: Client, task_queue: str, model: LocalServer
) -> None:
    agents_app.seen.path().unlink(missing_ok=True)
    model.scripted.queue(
        Call("transfer_to_billing", "{}", call_id="call_t"),
        Call("record", '{"tag": "refund"}', call_id="call_r"),
        Say("Refund recorded."),
    )

    handle = await agents_client.start_workflow(
        Desk.run, "a refund, please", id=f"desk-{uuid.uuid4().hex[:8]}", task_queue=task_queue
    )

    assert await handle.result() == "billing: Refund recorded."
    [effect] = effects()
    assert effect.startswith("refund ") and effect.endswith(":call_r")
    # the next agent's model, instructions and tools from the transfer on, chained to it
    assert [r["model"] for r in model.requests] == ["gpt-4o", "gpt-4o-mini", "gpt-4o-mini"]
    assert model.requests[1]["instructions"] == "You handle refunds."
    assert model.requests[1]["previous_response_id"].startswith("resp_")
    assert [i["type"] for i in model.requests[1]["input"]] == ["function_call_output"]
    assert {t["name"] for t in model.requests[1]["tools"]} == {"record", "send_email"}
    history = await handle.fetch_history()
    assert activities(history) == [
        "desk.model", "desk.tool", "desk.billing.model", "desk.billing.tool", "desk.billing.model"
    ]  # fmt: skip
    steps = ["start desk", "model desk", "handoff desk -> billing", "model billing"]
    assert agents_app.seen.steps() == [*steps, "model billing", "end"]
    await replay(history)
    assert len(agents_app.seen.steps()) == 6  # a replay calls no hook again


async def test_the_next_agents_tool_guardrails_run_in_its_tool_activity(
    agents_client: Client, task_queue: str, model: LocalServer
) -> None:
    model.scripted.queue(
        Call("transfer_to_billing", "{}", call_id="call_t"),
        Call("record", '{"tag": "secret"}', call_id="call_s"),
        Say("I may not record that."),
    )

    handle = await agents_client.start_workflow(
        Desk.run, "record a secret", id=f"desk-{uuid.uuid4().hex[:8]}", task_queue=task_queue
    )

    assert await handle.result() == "billing: I may not record that."
    assert effects() == []  # blocked before it ran
    [output] = [i for i in model.requests[2]["input"] if i["type"] == "function_call_output"]
    assert output["output"].startswith("Error: the guardrail 'no_secret_tags' blocked this call")
    assert f"pid {os.getpid()} keeps secrets" in output["output"]  # this test's worker ran it
    await replay(await handle.fetch_history())


async def test_an_approval_asked_after_a_handoff_is_answered_and_the_team_goes_on(
    agents_client: Client, task_queue: str, model: LocalServer
) -> None:
    model.scripted.queue(
        Call("transfer_to_billing", "{}", call_id="call_t"),
        Call("send_email", '{"to": "carol"}', call_id="call_mail"),
        Say("Carol is told."),
        Say("Anything else?"),
    )
    conversations, chat = chats(agents_client, task_queue, agent="desk"), conversation_id()

    paused = await conversations.send(chat, "refund carol and tell her")
    assert paused.status == "paused"
    assert [r.tool for r in paused.pending_approvals] == ["send_email"]
    answered = await conversations.decide(chat, "call_mail", approve=True)
    followed = await conversations.send(chat, "thanks")

    assert (answered.status, answered.output) == ("answered", "Carol is told.")
    assert followed.output == "Anything else?"
    [effect] = effects()
    assert effect.startswith("email:carol ") and effect.endswith(":call_mail")
    # a new message starts with the wrapped agent again, as `Agent.run` does
    assert [r["model"] for r in model.requests] == [
        "gpt-4o", "gpt-4o-mini", "gpt-4o-mini", "gpt-4o"
    ]  # fmt: skip
    await replay(await agents_client.get_workflow_handle(chat).fetch_history())


async def test_input_and_output_guardrails_run_as_activities(
    agents_client: Client, task_queue: str, model: LocalServer
) -> None:
    judged = agents_app.effects_file().with_suffix(".judged")
    judged.unlink(missing_ok=True)
    model.scripted.queue(Say("That is a rude question."), Say("Happy to help."))

    handle = await agents_client.start_workflow(
        Careful.run, "help me", id=f"careful-{uuid.uuid4().hex[:8]}", task_queue=task_queue
    )

    assert await handle.result() == "Happy to help."
    # the output guardrail ran in this test's worker, with I/O; its correction reached the model
    assert judged.read_text().splitlines() == [
        f"{os.getpid()} That is a rude question.",
        f"{os.getpid()} Happy to help.",
    ]
    retried = json.dumps(model.requests[1]["input"])
    assert "refused by the guardrail 'polite': that was rude" in retried
    history = await handle.fetch_history()
    assert activities(history) == [
        "careful.guardrail", "careful.model", "careful.guardrail", "careful.model",
        "careful.guardrail",
    ]  # fmt: skip
    await replay(history)


async def test_a_tripped_input_guardrail_fails_the_workflow_before_any_model_call(
    agents_client: Client, task_queue: str, model: LocalServer
) -> None:
    handle = await agents_client.start_workflow(
        Careful.run,
        "my card is 4111 1111 1111 1111",
        id=f"careful-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
    )

    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == "GuardrailTripped"
    assert "'no_card_numbers' tripped: the message holds a card number" in str(failed.value.cause)
    assert model.requests == []


async def test_a_traced_agent_runs_in_a_workflow_without_spans_made_again_on_replay(
    agents_client: Client, task_queue: str, model: LocalServer
) -> None:
    # An agent traced with an OpenTelemetry SDK (as every agent is in a worker whose SDK is
    # configured) builds its activities at import and runs in a sandboxed workflow; the
    # workflow makes no spans of its own, so a replay cannot make them twice.
    agents_app.SPANS.clear()
    agents_app.seen.path().unlink(missing_ok=True)
    model.scripted.queue(Call("record", '{"tag": "T"}', call_id="call_t"), Say("Traced."))

    handle = await agents_client.start_workflow(
        Traced.run, "record T", id=f"traced-{uuid.uuid4().hex[:8]}", task_queue=task_queue
    )

    assert await handle.result() == "Traced."
    [effect] = effects()
    assert effect.startswith("T ")
    assert agents_app.seen.steps() == ["start traced", "model traced", "model traced", "end"]
    await replay(await handle.fetch_history())
    assert agents_app.SPANS.get_finished_spans() == ()
    assert len(agents_app.seen.steps()) == 4


async def test_outside_a_workflow_a_temporal_agent_is_its_agent(model: LocalServer) -> None:
    model.scripted.queue(Call("record", '{"tag": "L"}', call_id="call_l"), Say("Local."))

    result = await agents_app.assistant.run("record L")

    assert result.output == "Local."
    assert effects() == [f"L {result.state.run_id}:call_l"]
    await agents_app.assistant.agent.aclose()


def test_the_history_scan_finds_what_is_there(tmp_path: Path) -> None:
    """`raw` must show payload text, or the secret checks that use it would prove nothing."""
    from temporalio.api.history.v1 import HistoryEvent
    from temporalio.client import WorkflowHistory
    from temporalio.contrib.pydantic import pydantic_data_converter

    from agentkit.temporal.payloads import ModelCall

    payload = pydantic_data_converter.payload_converter.to_payload(ModelCall({"secret": "s3cr3t"}))
    event = HistoryEvent()
    event.activity_task_scheduled_event_attributes.input.payloads.append(payload)
    assert b"s3cr3t" in raw(WorkflowHistory("w", [event]))
