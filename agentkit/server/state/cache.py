"""The store's memory: decoded responses, least recently used out first, bounded by bytes.

Besides each response it keeps the chain ending at the newest response of a conversation, so
that continuing it costs one step and a copy of references, however long the chain is.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

Item = dict[str, Any]

REFERENCE_BYTES = 8
"""What a kept chain costs per item: a reference (the items themselves are the responses')."""


@dataclass(frozen=True)
class StoredResponse:
    """A stored response: its public body, the input items it was given, and its parent."""

    id: str
    body: dict[str, Any]
    input: list[Item]
    previous_response_id: str | None

    @property
    def output(self) -> list[Item]:
        output: list[Item] = self.body["output"]
        return output


@dataclass(frozen=True)
class Chain:
    """The stored chain ending at a response: its items oldest first, and their total weight."""

    items: tuple[Item, ...]
    weight: int


@dataclass
class Entry:
    """A cached response: its JSON's length, its items' weight once known, and the chain
    ending at it while it is the newest response of its conversation that was continued."""

    record: StoredResponse
    json_size: int
    weight: int | None = None
    chain: Chain | None = None

    @property
    def size(self) -> int:
        kept = 0 if self.chain is None else REFERENCE_BYTES * len(self.chain.items)
        return self.json_size + kept


class ResponseCache:
    """Decoded responses by id, at most `max_bytes` of them (their JSON plus kept chains)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def get(self, response_id: str) -> Entry | None:
        entry = self._entries.get(response_id)
        if entry is not None:
            self._entries.move_to_end(response_id)
        return entry

    def put(self, record: StoredResponse, json_size: int) -> Entry:
        """Cache a response; one larger than the whole cache is returned but not kept."""
        self.pop(record.id)
        entry = Entry(record, json_size)
        if json_size <= self.max_bytes:
            self._entries[record.id] = entry
            self._grew(entry.size)
        return entry

    def pop(self, response_id: str) -> None:
        entry = self._entries.pop(response_id, None)
        if entry is not None:
            self.bytes -= entry.size

    def keep_chain(self, tip: Entry, chain: Chain, parent: Entry | None) -> None:
        """Keep `chain` on `tip`, and no longer on `parent`: only a conversation's newest
        continued response holds one, so kept chains cost memory in proportion to the
        conversations, not to the square of their length."""
        if parent is not None:
            self._replace_chain(parent, None)
        self._replace_chain(tip, chain)

    def drop_chains(self) -> None:
        """Forget every kept chain (after a delete, which may cut any of them short)."""
        for entry in self._entries.values():
            self._replace_chain(entry, None)

    def _replace_chain(self, entry: Entry, chain: Chain | None) -> None:
        cached = self._entries.get(entry.record.id) is entry
        before = entry.size
        entry.chain = chain
        if cached:
            self._grew(entry.size - before)

    def _grew(self, by: int) -> None:
        self.bytes += by
        while self.bytes > self.max_bytes and self._entries:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= evicted.size
