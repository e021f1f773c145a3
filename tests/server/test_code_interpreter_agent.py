"""The agent's `CodeInterpreter`: one container per conversation (both chainings, and
`store=False`), expiry handled by option, and `result.files` downloading what the code wrote."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import openai
import pytest
from code_interpreter_support import fenced
from PIL import Image

from agentkit import Agent, CodeInterpreter, ConfigurationError, ContainerExpired, ContainerFile
from agentkit.errors import UserError
from agentkit.run.containers import ContainerKeeper, latest_container
from agentkit.server import LocalServer

CSV_CODE = "open('/mnt/data/report.csv', 'w').write('name,score\\nada,3\\n')"
PNG_CODE = "from PIL import Image\nImage.new('RGB', (16, 8), 'red').save('plot.png')"


@pytest.fixture(scope="module")
def brief() -> Iterator[LocalServer]:
    """A server whose containers expire after one idle second."""
    with LocalServer(container_idle_seconds=1.0) as running:
        yield running


@pytest.fixture
async def aclient(server: LocalServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as made:
        yield made


def containers_of(items: list[dict[str, object]]) -> list[object]:
    return [i["container_id"] for i in items if i.get("type") == "code_interpreter_call"]


def sent_containers(server: LocalServer, count: int) -> list[object]:
    """The code interpreter `container` of the last `count` requests the server got."""
    return [
        next(t["container"] for t in body["tools"] if t["type"] == "code_interpreter")
        for body in server.requests[-count:]
    ]


# --- the tool -----------------------------------------------------------------------------------


def test_the_tool_param():
    assert CodeInterpreter().to_param() == {
        "type": "code_interpreter",
        "container": {"type": "auto"},
    }
    assert CodeInterpreter(file_ids=["file-a"], memory_limit="4g").to_param() == {
        "type": "code_interpreter",
        "container": {"type": "auto", "file_ids": ["file-a"], "memory_limit": "4g"},
    }
    assert CodeInterpreter(container="cntr_1").to_param()["container"] == "cntr_1"


@pytest.mark.parametrize(
    "options",
    [{"container": ""}, {"file_ids": "file-a"}, {"memory_limit": "2g"}, {"on_expired": "ignore"}],
)
def test_bad_options_are_refused(options: dict[str, object]):
    with pytest.raises(ConfigurationError, match="CodeInterpreter"):
        CodeInterpreter(**options)  # type: ignore[arg-type]


def test_one_code_interpreter_per_agent():
    with pytest.raises(ConfigurationError, match="one CodeInterpreter"):
        Agent(model="m", tools=[CodeInterpreter(), CodeInterpreter()])


def test_the_keeper_names_the_latest_live_container():
    keeper = ContainerKeeper(CodeInterpreter(file_ids=["file-a"]))
    items: list[dict[str, object]] = [{"type": "message", "role": "user", "content": "hi"}]
    assert keeper.container(items) == {"type": "auto", "file_ids": ["file-a"]}
    items += [
        {"type": "code_interpreter_call", "container_id": "cntr_old"},
        {"type": "code_interpreter_call", "container_id": "cntr_new"},
    ]
    assert latest_container(items) == "cntr_new"
    assert keeper.container(items) == "cntr_new"
    keeper.expired.add("cntr_new")
    assert keeper.container(items) == {"type": "auto", "file_ids": ["file-a"]}
    named = ContainerKeeper(CodeInterpreter(container="cntr_mine"))
    assert named.container(items) == "cntr_mine"
    named.expired.add("cntr_mine")
    assert named.container(items) == "cntr_new"
    body = {
        "model": "m",
        "tools": [{"type": "function", "name": "f"}, CodeInterpreter().to_param()],
    }
    pinned = ContainerKeeper(CodeInterpreter()).pin(body, items)
    assert pinned["tools"][1] == {"type": "code_interpreter", "container": "cntr_new"}
    assert body["tools"][1]["container"] == {"type": "auto"}  # pure: the plan is untouched


# --- one container per conversation ----------------------------------------------------------------


@pytest.mark.parametrize("chaining", ["previous_response_id", "items"])
async def test_turns_and_runs_of_a_conversation_share_one_container(
    server: LocalServer, aclient: openai.AsyncOpenAI, chaining: str
):
    agent = Agent(model="gpt-4.1", tools=[CodeInterpreter()], client=aclient, chaining=chaining)  # type: ignore[arg-type]
    first = await agent.run(fenced("counter = 1"))
    second = await agent.run(
        fenced("counter += 1\nprint(counter)"), conversation=first.conversation
    )
    third = await agent.run(fenced("counter * 10"), conversation=second.conversation)
    used = containers_of(third.conversation.items)
    assert len(used) == 3 and len(set(used)) == 1
    assert '"20"' in third.output_text
    # One request per run (the service runs the code within the response); pinned from the second.
    assert sent_containers(server, 3) == [{"type": "auto"}, used[0], used[0]]


async def test_store_false_passes_the_container_explicitly(
    server: LocalServer, aclient: openai.AsyncOpenAI
):
    agent = Agent(model="gpt-4.1", tools=[CodeInterpreter()], client=aclient, store=False)
    first = await agent.run(fenced("secret = 'kept'"))
    [container] = containers_of(first.conversation.items)
    second = await agent.run(fenced("secret"), conversation=first.conversation)
    assert containers_of(second.new_items) == [container]
    assert "'kept'" in second.output_text
    sent = server.requests[-2:]
    assert [body["store"] for body in sent] == [False, False]
    assert "previous_response_id" not in sent[0]
    assert sent_containers(server, 2) == [{"type": "auto"}, container]


def test_run_sync_and_file_ids(server: LocalServer, client: openai.OpenAI):
    data = client.files.create(file=("scores.csv", b"score\n3\n4\n"), purpose="assistants")
    agent = Agent(model="gpt-4.1", tools=[CodeInterpreter(file_ids=[data.id])], client=client)
    result = agent.run_sync(fenced("sum(int(x) for x in open('scores.csv').read().split()[1:])"))
    assert '"7"' in result.output_text


# --- expiry ----------------------------------------------------------------------------------------


async def test_an_expired_container_is_replaced_with_the_same_files(
    brief: LocalServer, caplog: pytest.LogCaptureFixture
):
    async with openai.AsyncOpenAI(base_url=brief.base_url, api_key="k", max_retries=0) as aclient:
        data = await aclient.files.create(file=("seed.txt", b"seed"), purpose="assistants")
        for store in (True, False):
            agent = Agent(
                model="m", tools=[CodeInterpreter(file_ids=[data.id])], client=aclient, store=store
            )
            first = await agent.run(fenced("state = 'old'"))
            [old] = containers_of(first.conversation.items)
            await asyncio.sleep(1.3)
            with caplog.at_level(logging.WARNING, logger="agentkit"):
                second = await agent.run(
                    fenced("import os\nprint(sorted(os.listdir()), 'state' in globals())"),
                    conversation=first.conversation,
                )
            [new] = containers_of(second.new_items)
            assert new != old
            assert "\"['seed.txt'] False\"" in second.output_text
            assert f"Container {old} has expired" in caplog.text
            assert sent_containers(brief, 2) == [old, {"type": "auto", "file_ids": [data.id]}]


async def test_an_expired_container_can_raise(brief: LocalServer):
    async with openai.AsyncOpenAI(base_url=brief.base_url, api_key="k", max_retries=0) as aclient:
        agent = Agent(model="m", tools=[CodeInterpreter(on_expired="raise")], client=aclient)
        first = await agent.run(fenced("1"))
        [old] = containers_of(first.conversation.items)
        await asyncio.sleep(1.3)
        with pytest.raises(ContainerExpired) as expired:
            await agent.run(fenced("2"), conversation=first.conversation)
        assert expired.value.container_id == old
        assert expired.value.state is not None


async def test_a_deleted_container_is_replaced(server: LocalServer, aclient: openai.AsyncOpenAI):
    agent = Agent(model="m", tools=[CodeInterpreter()], client=aclient)
    first = await agent.run(fenced("1"))
    [old] = containers_of(first.conversation.items)
    await aclient.containers.delete(old)
    second = await agent.run(fenced("2"), conversation=first.conversation)
    assert containers_of(second.new_items)[0] != old


# --- result.files -----------------------------------------------------------------------------------


async def test_result_files_download_a_csv_and_a_png(aclient: openai.AsyncOpenAI, tmp_path: Path):
    agent = Agent(model="m", tools=[CodeInterpreter()], client=aclient)
    result = await agent.run(fenced(CSV_CODE + "\n" + PNG_CODE))
    assert sorted(f.filename for f in result.files) == ["plot.png", "report.csv"]
    [container] = containers_of(result.new_items)
    assert {f.container_id for f in result.files} == {container}
    by_name = {f.filename: f for f in result.files}
    assert await by_name["report.csv"].read() == b"name,score\nada,3\n"
    saved = await by_name["plot.png"].save(tmp_path)
    assert saved == tmp_path / "plot.png"
    with Image.open(saved) as picture:
        assert (picture.format, picture.size) == ("PNG", (16, 8))
    renamed = await by_name["report.csv"].save(tmp_path / "renamed.csv")
    assert renamed.read_bytes() == b"name,score\nada,3\n"


def test_result_files_in_sync_code(client: openai.OpenAI, tmp_path: Path):
    agent = Agent(model="m", tools=[CodeInterpreter()], client=client)
    result = agent.run_sync(fenced(PNG_CODE))
    [picture] = result.files
    assert picture.read_sync().startswith(b"\x89PNG")
    assert Image.open(io.BytesIO(picture.save_sync(tmp_path).read_bytes())).size == (16, 8)


def test_result_files_with_the_agents_own_client(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AGENTKIT_BASE_URL", server.base_url)
    agent = Agent(model="m", tools=[CodeInterpreter()])
    [report] = agent.run_sync(fenced(CSV_CODE)).files
    assert report.read_sync() == b"name,score\nada,3\n"


async def test_sync_downloads_refuse_a_running_loop(aclient: openai.AsyncOpenAI):
    agent = Agent(model="m", tools=[CodeInterpreter()], client=aclient)
    [report] = (await agent.run(fenced(CSV_CODE))).files
    with pytest.raises(UserError, match="inside a running event loop"):
        report.read_sync()


def test_files_only_from_this_run_and_cited_once():
    cite = {
        "type": "container_file_citation",
        "container_id": "cntr_1",
        "file_id": "cfile_1",
        "filename": "a.csv",
        "start_index": 0,
        "end_index": 1,
    }
    message = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "x", "annotations": [cite, cite]}],
    }
    from agentkit.run.files import cited_files

    [found] = cited_files([message, message])
    assert found == ContainerFile("cntr_1", "cfile_1", "a.csv")
    with pytest.raises(UserError, match="no client"):
        found.read_sync()


def test_result_files_include_files_no_answer_cites(scripted: LocalServer):
    from agentkit.server.engines import Hosted, Say

    scripted.scripted.queue(
        Hosted("code_interpreter", options={"code": "open('notes.txt', 'w').write('kept')"}),
        Say("Done; nothing to point at."),
    )
    client = openai.OpenAI(base_url=scripted.base_url, api_key="k")
    result = Agent(model="m", tools=[CodeInterpreter()], client=client).run_sync("Take notes.")
    assert result.output == "Done; nothing to point at."
    [notes] = result.files
    assert notes.filename == "notes.txt"
    assert notes.read_sync() == b"kept"


async def test_result_files_are_only_this_runs(aclient: openai.AsyncOpenAI):
    agent = Agent(model="m", tools=[CodeInterpreter()], client=aclient)
    first = await agent.run(fenced(CSV_CODE))
    second = await agent.run(fenced(PNG_CODE), conversation=first.conversation)
    assert [f.filename for f in first.files] == ["report.csv"]
    assert [f.filename for f in second.files] == ["plot.png"]
