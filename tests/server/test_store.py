"""The SQLite store: persistence across restarts, WAL, `:memory:`, and all-or-nothing writes."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from openai import OpenAI

from agentkit.server import LocalServer
from agentkit.server.state.store import Store


def client_for(server: LocalServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="k", max_retries=0)


def test_chain_continues_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with LocalServer(db=db) as before, client_for(before) as client:
        first = client.responses.create(model="gpt-4o", input="alpha words")
        second = client.responses.create(
            model="gpt-4o", input="beta words", previous_response_id=first.id
        )
    with LocalServer(db=db) as after, client_for(after) as client:
        third = client.responses.create(
            model="gpt-4o", input="gamma words", previous_response_id=second.id
        )
        assert third.output_text == (
            'You said: "gamma words". Earlier in this conversation you sent 2 messages, '
            'starting with "alpha words".'
        )
        assert client.responses.retrieve(first.id).model_dump() == first.model_dump()
        assert client.responses.retrieve(second.id).model_dump() == second.model_dump()
        items = list(client.responses.input_items.list(third.id, order="asc"))
    expected = [
        first.output[0].id,
        second.output[0].id,
    ]
    assert [item.type for item in items] == ["message"] * 5
    assert [items[1].id, items[3].id] == expected
    assert [item.role for item in items] == ["user", "assistant", "user", "assistant", "user"]


def test_retrieve_returns_exactly_what_create_returned(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    body = {"model": "gpt-4o", "input": "hi", "metadata": {"k": "v"}, "instructions": "be brief"}
    with LocalServer(db=db) as before:
        created = httpx2.post(f"{before.base_url}/responses", json=body).json()
    with LocalServer(db=db) as after:
        retrieved = httpx2.get(f"{after.base_url}/responses/{created['id']}").json()
    assert retrieved == created


def test_delete_persists_across_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with LocalServer(db=db) as before, client_for(before) as client:
        kept = client.responses.create(model="gpt-4o", input="keep")
        gone = client.responses.create(model="gpt-4o", input="drop")
        client.responses.delete(gone.id)
    with LocalServer(db=db) as after, client_for(after) as client:
        assert client.responses.retrieve(kept.id).id == kept.id
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(gone.id)
        with pytest.raises(openai.BadRequestError) as caught:
            client.responses.create(model="gpt-4o", input="x", previous_response_id=gone.id)
    assert caught.value.code == "previous_response_not_found"


def test_wal_mode_is_on(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with LocalServer(db=db) as server, client_for(server) as client:
        client.responses.create(model="gpt-4o", input="hi")
        with sqlite3.connect(db) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert (tmp_path / "s.db-wal").exists()


def test_database_directories_are_created(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "s.db"
    with LocalServer(db=db) as server, client_for(server) as client:
        response = client.responses.create(model="gpt-4o", input="hi")
    assert db.exists()
    with sqlite3.connect(db) as connection:
        ids = connection.execute("SELECT id FROM responses").fetchall()
    assert ids == [(response.id,)]


def test_memory_database_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with LocalServer(db=":memory:") as server, client_for(server) as client:
        first = client.responses.create(model="gpt-4o", input="one")
        second = client.responses.create(model="gpt-4o", input="two", previous_response_id=first.id)
        assert client.responses.retrieve(second.id).previous_response_id == first.id
        assert len(list(client.responses.input_items.list(second.id))) == 3
        assert server.state.store.path == ":memory:"
    assert list(tmp_path.iterdir()) == []


def test_memory_databases_are_separate() -> None:
    with LocalServer() as one, LocalServer() as two, client_for(one) as a, client_for(two) as b:
        response = a.responses.create(model="gpt-4o", input="hi")
        with pytest.raises(openai.NotFoundError):
            b.responses.retrieve(response.id)


def test_rows_of_a_response_and_its_items(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with LocalServer(db=db) as server, client_for(server) as client:
        response = client.responses.create(model="o4-mini", input="hi")
        with sqlite3.connect(db) as connection:
            stored = connection.execute(
                "SELECT id, previous_response_id, body FROM responses"
            ).fetchall()
            items = connection.execute(
                "SELECT id, response_id FROM items ORDER BY rowid"
            ).fetchall()
        client.responses.delete(response.id)
        with sqlite3.connect(db) as connection:
            left = connection.execute("SELECT count(*) FROM items").fetchone()[0]
            left += connection.execute("SELECT count(*) FROM responses").fetchone()[0]
    assert [(row[0], row[1]) for row in stored] == [(response.id, None)]
    assert json.loads(stored[0][2]) == response.to_dict()
    assert [row[1] for row in items] == [response.id] * 3
    assert [row[0][:3] for row in items] == ["msg", "rs_", "msg"]
    assert left == 0


def test_unstored_responses_write_no_rows(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with LocalServer(db=db) as server, client_for(server) as client:
        client.responses.create(model="gpt-4o", input="hi", store=False)
        with sqlite3.connect(db) as connection:
            counts = [
                connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("responses", "items")
            ]
    assert counts == [0, 0]


def test_rejected_requests_write_no_rows(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with LocalServer(db=db) as server, client_for(server) as client:
        with pytest.raises(openai.BadRequestError):
            client.responses.create(
                model="gpt-4o",
                input=[{"type": "function_call_output", "call_id": "c", "output": "x"}],
            )
        with pytest.raises(openai.BadRequestError):
            client.responses.create(model="gpt-4o", input="hi", previous_response_id="resp_x")
        with sqlite3.connect(db) as connection:
            counts = [
                connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("responses", "items")
            ]
    assert counts == [0, 0]


def test_concurrent_chains_are_all_stored(tmp_path: Path) -> None:
    db = tmp_path / "s.db"

    def chain(client: OpenAI, n: int) -> list[str]:
        ids: list[str] = []
        previous: str | None = None
        for turn in range(3):
            response = client.responses.create(
                model="gpt-4o", input=f"chain {n} turn {turn}", previous_response_id=previous
            )
            ids.append(response.id)
            previous = response.id
        return ids

    with LocalServer(db=db) as server, client_for(server) as client:
        with ThreadPoolExecutor(8) as pool:
            chains = list(pool.map(lambda n: chain(client, n), range(8)))
        for ids in chains:
            assert len(list(client.responses.input_items.list(ids[-1], limit=100))) == 5
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM responses").fetchone()[0] == 24
        assert connection.execute("SELECT count(*) FROM items").fetchone()[0] == 48


# --- the Store directly --------------------------------------------------------------------------


def body(
    response_id: str, output: list[dict[str, Any]], previous: str | None = None
) -> dict[str, Any]:
    return {
        "id": response_id,
        "created_at": 1,
        "previous_response_id": previous,
        "output": output,
    }


def message(item_id: str, text: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }


def test_store_context_walks_the_chain_oldest_first() -> None:
    store = Store()
    store.save(body("resp_1", [message("msg_b", "b")]), [message("msg_a", "a")])
    store.save(body("resp_2", [message("msg_d", "d")], "resp_1"), [message("msg_c", "c")])
    context = store.context("resp_2")
    assert context is not None
    assert [item["id"] for item in context] == ["msg_a", "msg_b", "msg_c", "msg_d"]
    assert store.context("resp_unknown") is None
    assert store.item("msg_c") == message("msg_c", "c")
    assert store.item("msg_unknown") is None


def test_store_delete_forgets_the_response_and_its_items() -> None:
    store = Store()
    store.save(body("resp_1", [message("msg_b", "b")]), [message("msg_a", "a")])
    assert store.get("resp_1") is not None  # now cached
    assert store.delete("resp_1") is True
    assert store.get("resp_1") is None
    assert store.item("msg_a") is None
    assert store.delete("resp_1") is False


def test_store_save_is_all_or_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    unstorable = {"id": "msg_bad", "type": "message", "content": {1, 2}}  # a set is not JSON
    with pytest.raises(TypeError):
        store.save(body("resp_1", [message("msg_ok", "ok")]), [unstorable])
    store.save(body("resp_2", [message("msg_ok", "ok")]), [])
    duplicate = body("resp_2", [message("msg_other", "x")])
    with pytest.raises(sqlite3.IntegrityError):
        store.save(duplicate, [message("msg_in", "in")])  # the response row exists: rolls back
    assert store.get("resp_1") is None
    assert store.item("msg_other") is None
    assert store.item("msg_in") is None
    store.close()
    with sqlite3.connect(tmp_path / "s.db") as connection:
        assert connection.execute("SELECT id FROM responses").fetchall() == [("resp_2",)]
        assert connection.execute("SELECT id FROM items").fetchall() == [("msg_ok",)]


def test_store_meta_is_created_once_and_kept(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    assert store.meta("key", "first") == "first"
    assert store.meta("key", "second") == "first"
    store.close()
    reopened = Store(tmp_path / "s.db")
    assert reopened.meta("key", "third") == "first"
    reopened.close()
