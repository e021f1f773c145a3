"""Files a run's code wrote in a code interpreter container (`RunResult.files`)."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agentkit.errors import UserError

Item = dict[str, Any]


class Downloader(Protocol):
    """Fetches a container file's bytes through the agent's client."""

    async def download(self, container_id: str, file_id: str) -> bytes: ...

    def download_sync(self, container_id: str, file_id: str) -> bytes: ...


@dataclass(frozen=True)
class ContainerFile:
    """A file in a code interpreter container, as the run's messages cite it."""

    container_id: str
    file_id: str
    filename: str
    _downloader: Downloader | None = field(default=None, repr=False, compare=False)

    async def read(self) -> bytes:
        """The file's bytes, downloaded through the agent's client."""
        return await self._source().download(self.container_id, self.file_id)

    async def save(self, path: str | os.PathLike[str]) -> Path:
        """Download the file to `path` (into it, under `filename`, when it is a folder)."""
        return _write(path, self.filename, await self.read())

    def read_sync(self) -> bytes:
        """`read` for synchronous code; not allowed inside a running event loop."""
        return self._source().download_sync(self.container_id, self.file_id)

    def save_sync(self, path: str | os.PathLike[str]) -> Path:
        """`save` for synchronous code; not allowed inside a running event loop."""
        return _write(path, self.filename, self.read_sync())

    def _source(self) -> Downloader:
        if self._downloader is None:
            raise UserError("This file has no client to download it with (it came from JSON).")
        return self._downloader


def _write(path: str | os.PathLike[str], filename: str, data: bytes) -> Path:
    target = Path(path)
    if target.is_dir():
        target = target / filename
    target.write_bytes(data)
    return target


def cited_files(items: list[Item], downloader: Downloader | None = None) -> list[ContainerFile]:
    """The container files the messages among `items` cite, once each, in order."""
    found: dict[str, ContainerFile] = {}
    for item in items:
        if item.get("type") != "message":
            continue
        for part in item.get("content") or []:
            for note in part.get("annotations") or [] if isinstance(part, dict) else []:
                if note.get("type") == "container_file_citation" and note.get("file_id"):
                    found.setdefault(
                        note["file_id"],
                        ContainerFile(
                            str(note.get("container_id", "")),
                            str(note["file_id"]),
                            str(note.get("filename", "")),
                            downloader,
                        ),
                    )
    return list(found.values())


async def written_files(
    client: Any, items: list[Item], since: float, earlier: list[Item]
) -> list[tuple[str, str, str]]:
    """(container_id, file_id, filename) of every file the code of `items` wrote.

    The service reports written files only when an answer cites them, so the containers the
    run's code ran in are listed (one request per container, only for runs that ran code);
    the files the run's code wrote are those whose source is "assistant", created since the
    run started (`since`, Unix seconds; the service counts whole seconds) and not already
    cited by the `earlier` items of the conversation.
    """
    known = {f.file_id for f in cited_files(earlier)}
    containers = dict.fromkeys(
        item["container_id"]
        for item in items
        if item.get("type") == "code_interpreter_call" and item.get("container_id")
    )
    found: list[tuple[str, str, str]] = []
    for container_id in containers:
        try:
            page = await client.containers.files.list(container_id, limit=100)
        except Exception:  # an expired or deleted container: only its citations remain
            continue
        for entry in page.data:
            fresh = entry.created_at >= int(since) and entry.id not in known
            if getattr(entry, "source", None) == "assistant" and fresh:
                found.append((container_id, entry.id, os.path.basename(entry.path)))
    return found


class AgentDownloader:
    """Downloads through an agent's client for the current event loop (as runs do)."""

    def __init__(self, agent: Any) -> None:
        self._agent = agent

    async def download(self, container_id: str, file_id: str) -> bytes:
        client = self._agent._client()
        content = await client.containers.files.content.retrieve(file_id, container_id=container_id)
        data: bytes = content.content
        return data

    def download_sync(self, container_id: str, file_id: str) -> bytes:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise UserError(
                "read_sync()/save_sync() was called inside a running event loop; "
                "use `await file.read()` / `await file.save(path)` there instead."
            )

        data: bytes = self._agent._sync(lambda: self.download(container_id, file_id))
        return data
