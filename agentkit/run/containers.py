"""Code interpreter containers across turns: keep the conversation's container, survive expiry.

Once the model has run code, every later request names the container of the conversation's
latest `code_interpreter_call` explicitly. With `previous_response_id` the service would find
it in the stored context anyway; with `store=False` nothing else carries it. When the service
answers that the container expired (or is gone), the run either starts a new one with the
tool's `file_ids` and sends the request again, or raises `ContainerExpired`, as the
`CodeInterpreter` tool's `on_expired` says.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import openai

from agentkit.errors import ContainerExpired
from agentkit.run.conversation import Item
from agentkit.tools.hosted import CodeInterpreter

log = logging.getLogger("agentkit")

TOOL = "code_interpreter"
CALL = "code_interpreter_call"


def latest_container(items: list[Item]) -> str | None:
    """The container of the latest code interpreter call among `items`."""
    for item in reversed(items):
        if item.get("type") == CALL and isinstance(item.get("container_id"), str):
            container: str = item["container_id"]
            return container
    return None


@dataclass
class ContainerKeeper:
    """One run's view of its code interpreter container (a fresh one per run)."""

    config: CodeInterpreter
    expired: set[str] = field(default_factory=set)
    """Containers the service said are gone, during this run."""

    def container(self, items: list[Item]) -> str | dict[str, Any]:
        """What the next request's tool names: the configured container while it lives, then
        the conversation's latest one, else a new one."""
        if self.config.container != "auto" and self.config.container not in self.expired:
            return self.config.container
        latest = latest_container(items)
        if latest is not None and latest not in self.expired:
            return latest
        return self.config.auto_container()

    def pin(self, body: dict[str, Any], items: list[Item]) -> dict[str, Any]:
        """`body` with its code interpreter tool naming `container(items)` (pure)."""
        tools = body.get("tools")
        if not tools:
            return body
        chosen = self.container(items)
        pinned = [{**t, "container": chosen} if t.get("type") == TOOL else t for t in tools]
        return {**body, "tools": pinned}

    def recover(self, error: openai.APIStatusError, body: dict[str, Any], state: Any) -> bool:
        """Whether to send the request again after `error` (raises `ContainerExpired` instead
        when the tool says so); False when the error is not about the container."""
        gone = error.code == "container_expired" or (
            error.status_code == 404 and str(error.param or "").endswith(".container")
        )
        named = _named_container(body)
        if not gone or named is None or named in self.expired:
            return False
        self.expired.add(named)
        if self.config.on_expired == "raise":
            raise ContainerExpired(
                f"The code interpreter container {named} has expired (or was deleted); its "
                "files and variables are gone.",
                state=state,
                container_id=named,
            )
        log.warning("Container %s has expired; continuing in a new one.", named)
        return True


def _named_container(body: dict[str, Any]) -> str | None:
    for tool in body.get("tools") or []:
        if tool.get("type") == TOOL and isinstance(tool.get("container"), str):
            container: str = tool["container"]
            return container
    return None
