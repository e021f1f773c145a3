"""The store's memory: bounded by bytes, not by count (30 large requests used to take the server
from 82 to 802 MiB); a chain of any depth continued without re-reading or recounting it (a
create at depth 2,500 used to cost 186x one at depth 10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openai import OpenAI

from agentkit.server import LocalServer
from agentkit.server.state.store import Store

MIB = 1024 * 1024


def message(item_id: str, text: str, role: str = "user") -> dict[str, Any]:
    return {"id": item_id, "type": "message", "role": role, "content": text}


def save_chain(store: Store, depth: int, start: int = 0, previous: str | None = None) -> str:
    """Store `depth` responses, each continuing the one before; return the last id."""
    for turn in range(start, start + depth):
        body = {
            "id": f"resp_{turn}",
            "created_at": 1,
            "previous_response_id": previous,
            "output": [message(f"msg_out_{turn}", f"answer {turn}", "assistant")],
        }
        store.save(body, [message(f"msg_in_{turn}", f"question {turn}")])
        previous = f"resp_{turn}"
    assert previous is not None
    return previous


def test_many_large_creates_keep_memory_within_its_bounds(tmp_path: Path) -> None:
    cap = 4 * MIB
    with (
        LocalServer(db=str(tmp_path / "big.db"), cache_bytes=cap) as server,
        OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client,
    ):
        created = [
            client.responses.create(model="gpt-4o", input=f"{n} " + "x" * MIB) for n in range(20)
        ]
        assert 3 * MIB < server.state.store.cached_bytes <= cap  # used, and never beyond
        kept = list(server.requests)  # the request log is bounded by bytes too
        assert len(kept) == 15  # 16 MiB hold 15 bodies of just over 1 MiB
        assert kept[-1]["input"].startswith("19 ")
        # What the cache let go is read back from SQLite, exactly as it was answered.
        assert client.responses.retrieve(created[0].id).model_dump() == created[0].model_dump()
        [first_input] = client.responses.input_items.list(created[0].id)
        assert first_input.content[0].text.startswith("0 xxx")


def test_a_response_larger_than_the_cache_is_served_but_not_kept() -> None:
    store = Store(cache_bytes=1000)
    store.save(
        {"id": "resp_big", "created_at": 1, "previous_response_id": None, "output": []},
        [message("msg_big", "x" * 2000)],
    )
    assert store.cached_bytes == 0
    record = store.get("resp_big")
    assert record is not None and record.input[0]["content"] == "x" * 2000
    assert store.cached_bytes == 0


def test_a_deep_chain_is_continued_without_reading_or_recounting_it(tmp_path: Path) -> None:
    depth = 3000  # deeper than the old cache's 2,048 responses
    weighed: list[int] = []

    def weigh(items: list[dict[str, Any]]) -> int:
        weighed.append(len(items))
        return 10 * len(items)

    db = tmp_path / "deep.db"
    last = save_chain(Store(db), depth)
    store = Store(db, weigh=weigh)  # a cold cache, as after a restart
    first = store.chain(last)
    assert first is not None
    assert len(first.items) == 2 * depth and first.weight == 20 * depth
    assert len(weighed) == 2 * depth  # each response's input and output, once

    reads: list[str] = []
    store._db.set_trace_callback(reads.append)  # every statement SQLite runs from now on
    for turn in range(depth, depth + 50):  # the conversation goes on, 50 more turns
        chain = store.chain(f"resp_{turn - 1}")
        assert chain is not None and len(chain.items) == 2 * turn
        save_chain(store, 1, turn, f"resp_{turn - 1}")
    assert not [sql for sql in reads if sql.startswith("SELECT")]
    assert len(weighed) == 2 * (depth + 49)  # only the new responses were weighed


def test_deleting_an_ancestor_cuts_every_kept_chain() -> None:
    store = Store()
    last = save_chain(store, 4)
    assert store.context(last) is not None  # now kept on resp_3
    assert store.delete("resp_1")
    kept = store.context(last)
    assert kept is not None
    assert [item["id"] for item in kept] == ["msg_in_2", "msg_out_2", "msg_in_3", "msg_out_3"]
    assert store.context("resp_1") is None
