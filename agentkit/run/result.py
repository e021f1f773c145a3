"""RunResult: what a finished (or paused) run returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, cast

from typing_extensions import TypeVar

from agentkit.errors import RunPaused
from agentkit.model.usage import Usage
from agentkit.run.approvals import ApprovalRequest
from agentkit.run.conversation import Conversation, Item
from agentkit.run.files import ContainerFile, Downloader, cited_files
from agentkit.run.images import GeneratedImage, images_in
from agentkit.run.state import RunState

OutputT = TypeVar("OutputT", default=Any)


@dataclass(frozen=True)
class RunResult(Generic[OutputT]):
    """The final output, every item the run added, and how to continue the conversation.

    A run that waits for approvals returns a result with `paused` set: `pending_approvals`
    lists what to decide and `state` is the `RunState` to decide on and resume. Its `output`
    raises `RunPaused`, so an unfinished run is never mistaken for an answer.
    """

    output_text: str
    new_items: list[Item]
    response_ids: list[str]
    usage: Usage
    conversation: Conversation
    state: RunState
    pending_approvals: list[ApprovalRequest] = field(default_factory=list)
    agent: str | None = None
    """The name of the agent that answered (after handoffs, the last one handed to)."""
    _output: Any = field(default=None, repr=False)
    _downloader: Downloader | None = field(default=None, repr=False)
    _written: list[tuple[str, str, str]] = field(default_factory=list, repr=False)

    @property
    def paused(self) -> bool:
        """Whether the run stopped to wait for approvals (see `pending_approvals`)."""
        return bool(self.pending_approvals)

    @property
    def output(self) -> OutputT:
        """The final answer, an instance of the agent's `output_type`."""
        if self.paused:
            names = ", ".join(f"{r.tool} ({r.id})" for r in self.pending_approvals)
            raise RunPaused(
                f"The run is paused, waiting for approval of: {names}. Approve or reject them "
                "on result.state, then resume it with agent.resume(result.state)."
            )
        return cast(OutputT, self._output)

    @property
    def last_response_id(self) -> str | None:
        return self.response_ids[-1] if self.response_ids else None

    @property
    def files(self) -> list[ContainerFile]:
        """Every code interpreter file this run's code wrote or its answers cite, cited ones
        first; each downloads with `read()` / `save(path)`."""
        files = cited_files(self.new_items, self._downloader)
        known = {f.file_id for f in files}
        files += [
            ContainerFile(container_id, file_id, filename, self._downloader)
            for container_id, file_id, filename in self._written
            if file_id not in known
        ]
        return files

    @property
    def images(self) -> list[GeneratedImage]:
        """The pictures the image generation tool made in this run, oldest first."""
        return images_in(self.new_items)
