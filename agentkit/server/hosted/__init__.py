"""Hosted tools: tools the server runs itself (remote MCP, code interpreter, image generation).

A hosted tool is one object that plugs into each stage of a response, so adding one touches
no shared code beyond registering it in `HOSTED_TOOLS`:

- `parse_config`: checks its entry in the request's `tools` (what the response echoes back);
- `input_items`: the input item types it adds (e.g. `mcp_approval_response`);
- `check_context`: its rules over the model's context (e.g. an approval must answer a request);
- `before_model`: output items made before the model runs (e.g. `mcp_list_tools`, or the call
  an approval allowed);
- `auto_steps`: what the `auto` engine plans for it, given the user's latest words;
- `execute`: runs a `Hosted` step the engine planned, streaming its items' events as the work
  goes (`HostedContext.stream`: what precedes the work before it, the rest after), and returns
  its output items;
- `events`: the stream events of its output items;
- `summarise`: how the `auto` engine quotes one of its result items in its answer;
- `approved_steps` (optional): steps to run before the model, once the response has started
  (e.g. the MCP calls the client approved);
- `annotate` (optional): finishes a message of the model before it is sent (e.g. the code
  interpreter cites the container files it links).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agentkit.server.plan import Hosted, Planned, Turn
    from agentkit.server.protocol.validation import CreateRequest

Item = dict[str, Any]
Event = dict[str, Any]


class Sender(Protocol):
    """Where a response's events go (`agentkit.server.emitter.Emitter`)."""

    obfuscate: bool

    @property
    def live(self) -> bool: ...

    async def send(self, event: Event) -> None: ...


class _Nobody:
    obfuscate = False
    live = False

    async def send(self, event: Event) -> None:
        return None


@dataclass
class HostedContext:
    """What a hosted tool sees while a response is made."""

    request: CreateRequest
    items: list[Item]
    """The model's context so far: stored chain, new input, and this response's output yet."""
    output: list[Item]
    """This response's output items so far."""
    services: Mapping[str, Any]
    """Server-wide resources by name (e.g. the file store), set up by the app."""
    sender: Sender = field(default_factory=_Nobody)
    """Where the response's events go as they are made."""

    @property
    def index(self) -> int:
        """The output index of the item a tool is making now."""
        return len(self.output)

    async def stream(
        self, events: Iterable[Event], *, until: str | None = None, after: str | None = None
    ) -> None:
        """Send `events` of the item being made: up to and including the first of type `until`
        (before the work), or those after the first of type `after` (once it is done)."""
        if not self.sender.live:
            return
        sending = after is None
        for event in events:
            if sending:
                await self.sender.send(event)
            if event["type"] == until:
                return
            if event["type"] == after:
                sending = True


class HostedTool(Protocol):
    type: str
    input_items: Mapping[str, Callable[[dict[str, Any], str], Item]]

    def parse_config(self, value: dict[str, Any], param: str) -> dict[str, Any]: ...

    def check_context(self, stored: list[Item], new: list[Item]) -> None: ...

    async def before_model(self, ctx: HostedContext) -> list[Item]: ...

    def auto_steps(self, turn: Turn, text: str) -> list[Planned]: ...

    async def execute(self, step: Hosted, ctx: HostedContext) -> list[Item]: ...

    def events(self, index: int, item: Item, obfuscate: bool) -> Iterator[Event] | None: ...

    def summarise(self, item: Item) -> str | None: ...


HOSTED_TOOLS: dict[str, HostedTool] = {}
"""Hosted tools by their `type` in requests."""


def register(tool: HostedTool) -> None:
    from agentkit.server.protocol.items import ITEM_NORMALIZERS

    HOSTED_TOOLS[tool.type] = tool
    ITEM_NORMALIZERS.update(tool.input_items)


def configured(request: CreateRequest) -> list[HostedTool]:
    """The hosted tools a request's `tools` enable, once each, in order."""
    kinds = dict.fromkeys(t["type"] for t in request.tools if t["type"] in HOSTED_TOOLS)
    return [HOSTED_TOOLS[kind] for kind in kinds]


def events_for(index: int, item: Item, obfuscate: bool) -> Iterator[Event] | None:
    """A hosted tool's events for `item`, or None when no hosted tool owns its type."""
    for tool in HOSTED_TOOLS.values():
        found = tool.events(index, item, obfuscate)
        if found is not None:
            return found
    return None


def summary_of(item: Item) -> str | None:
    """How a hosted tool's result item reads in the `auto` engine's answer (None: not a result)."""
    for tool in HOSTED_TOOLS.values():
        text = tool.summarise(item)
        if text is not None:
            return text
    return None


def approved_steps(ctx: HostedContext) -> list[Hosted]:
    """The steps the enabled hosted tools run before the model (e.g. approved MCP calls)."""
    steps: list[Hosted] = []
    for tool in configured(ctx.request):
        approved = getattr(tool, "approved_steps", None)
        if approved is not None:
            steps.extend(approved(ctx))
    return steps


def annotate(ctx: HostedContext, item: Item) -> None:
    """Let each enabled hosted tool finish a model-made item before it is sent."""
    for tool in configured(ctx.request):
        finish = getattr(tool, "annotate", None)
        if finish is not None:
            finish(ctx, item)


def _register_builtin() -> None:
    """Import the hosted tools this server runs; each module registers itself."""
    from agentkit.server.hosted import (
        image_generation,  # noqa: F401
        mcp,  # noqa: F401
    )
    from agentkit.server.hosted.code_interpreter import tool  # noqa: F401


_register_builtin()
