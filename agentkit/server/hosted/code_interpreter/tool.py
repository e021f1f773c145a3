"""The `code_interpreter` hosted tool: Python run in a sandboxed container (`containers.py`).

Config: `{"type": "code_interpreter", "container": "cntr_…" | {"type": "auto", "file_ids": […]}}`.
`auto` reuses the container of the latest `code_interpreter_call` in the model's context while
it is active, else creates one; the listed files, and files given as `input_file` by id in the
input, are copied in. The item and its events follow the captures
(`openai-code-interpreter-tool.1`, `azure-code-interpreter-tool.1`): `outputs` is filled only
when `include` asks for `code_interpreter_call.outputs`. Files the code writes are cited, as
`container_file_citation` annotations, where the following message links them as
`sandbox:/mnt/data/<name>` (the `auto` engine's summary does).
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentkit._ids import new_id
from agentkit.server.errors import invalid, invalid_type, invalid_value, missing, unknown_parameter
from agentkit.server.hosted import Event, HostedContext, Item, register
from agentkit.server.hosted.code_interpreter.containers import (
    DATA_PATH,
    MEMORY_LIMITS,
    Containers,
    RunResult,
)
from agentkit.server.protocol.items import only_fields, string_field

if TYPE_CHECKING:
    from agentkit.server.plan import Hosted, Planned, Turn

TYPE = "code_interpreter"
CALL = "code_interpreter_call"
OUTPUTS = "code_interpreter_call.outputs"
MAX_FILE_IDS = 50
AUTO_NAME = "code_interpreter"
"""The name of the containers `auto` creates."""
_FENCED = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_LINK = re.compile(r"sandbox:" + re.escape(DATA_PATH) + r"/[^\s)\]\"'<>]+")
_PIECE = re.compile(r"\s*\S{1,6}|\s+")
SNIPPET = 200
INTERPRETING = "response.code_interpreter_call.interpreting"


@dataclass(frozen=True)
class _Ran:
    """What a call did, for the `auto` engine's summary (the item may not carry its outputs)."""

    logs: str
    failed: bool
    files: tuple[str, ...]


_RUNS: OrderedDict[str, _Ran] = OrderedDict()
_RUNS_KEPT = 1024


def fenced_code(text: str) -> list[str]:
    """The `auto` engine's rule: each fenced Python (or unlabelled) block of the user's words."""
    return [block for block in _FENCED.findall(text) if block.strip()]


class CodeInterpreterTool:
    """Runs Python in a container; see the module docstring."""

    type = TYPE

    def __init__(self) -> None:
        self.input_items: Mapping[str, Callable[[dict[str, Any], str], Item]] = {CALL: _call_input}

    # --- the request -----------------------------------------------------------------------

    def parse_config(self, value: dict[str, Any], param: str) -> dict[str, Any]:
        for name in value:
            if name not in ("type", "container"):
                raise unknown_parameter(f"{param}.{name}")
        if "container" not in value:
            raise missing(f"{param}.container")
        container = value["container"]
        if isinstance(container, str):
            if not container:
                raise invalid(f"Invalid '{param}.container': empty string.", f"{param}.container")
            return {"type": TYPE, "container": container}
        if not isinstance(container, dict):
            raise invalid_type(f"{param}.container", "a string or an object", container)
        return {"type": TYPE, "container": _auto(container, f"{param}.container")}

    def check_context(self, stored: list[Item], new: list[Item]) -> None:
        return None

    async def before_model(self, ctx: HostedContext) -> list[Item]:
        """Refuse a request whose container or files cannot be used, before anything runs."""
        containers: Containers = ctx.services["containers"]
        for index, tool in enumerate(ctx.request.tools):
            if tool["type"] != TYPE:
                continue
            containers.check_available(f"tools[{index}]")
            container = tool["container"]
            if isinstance(container, str):
                containers.active(container, f"tools[{index}].container")
                continue
            for number, file_id in enumerate(container.get("file_ids", [])):
                if containers.uploads.get(file_id) is None:
                    raise invalid(
                        f"File with id '{file_id}' not found.",
                        f"tools[{index}].container.file_ids[{number}]",
                    )
        return []

    # --- the model's side ------------------------------------------------------------------

    def auto_steps(self, turn: Turn, text: str) -> list[Planned]:
        from agentkit.server.plan import Hosted

        if turn.request.tool_choice == "none":
            return []
        return [Hosted(TYPE, options={"code": code}) for code in fenced_code(text)]

    async def execute(self, step: Hosted, ctx: HostedContext) -> list[Item]:
        code = step.options.get("code")
        if not isinstance(code, str) or not code.strip():
            raise invalid("A code_interpreter call needs the code to run.", "tools")
        containers: Containers = ctx.services["containers"]
        container_id = await asyncio.to_thread(_container_for, ctx, containers)
        item: Item = {
            "id": new_id("ci"),
            "type": CALL,
            "status": "in_progress",
            "code": code,
            "container_id": container_id,
            "outputs": None,
        }
        # The code and `interpreting` go out before the cell runs, the results once it ends.
        await ctx.stream(_events(ctx.index, item, ctx.sender.obfuscate), until=INTERPRETING)
        result = await _run(containers, container_id, code)
        item["status"] = "failed" if result.execution.failed else "completed"
        item["outputs"] = _outputs(result) if OUTPUTS in ctx.request.include else None
        _remember(item["id"], result)
        await ctx.stream(_events(ctx.index, item, ctx.sender.obfuscate), after=INTERPRETING)
        return [item]

    def annotate(self, ctx: HostedContext, item: Item) -> None:
        """Cite the container files a message links (`sandbox:/mnt/data/…`)."""
        if item["type"] != "message":
            return
        container_id = next(
            (i.get("container_id") for i in reversed(ctx.items) if i["type"] == CALL), None
        )
        if container_id:
            _cite(item, container_id, ctx.services["containers"])

    # --- the stream and the summary --------------------------------------------------------

    def events(self, index: int, item: Item, obfuscate: bool) -> Iterator[Event] | None:
        if item["type"] != CALL:
            return None
        return _events(index, item, obfuscate)

    def summarise(self, item: Item) -> str | None:
        if item["type"] != CALL:
            return None
        ran = _RUNS.get(item["id"]) or _Ran(_logs_of(item), item.get("status") == "failed", ())
        logs = " ".join(ran.logs.split())
        if len(logs) > SNIPPET:
            logs = logs[: SNIPPET - 1] + "…"
        if ran.failed:
            text = f"code_interpreter could not finish the code: {logs}"
        elif logs:
            text = f'code_interpreter ran the code, which printed "{logs}"'
        else:
            text = "code_interpreter ran the code, which printed nothing"
        if ran.files:
            links = [f"[{name}](sandbox:{DATA_PATH}/{name})" for name in ran.files]
            text += ", and wrote " + ", ".join(links)
        return text


# --- config ----------------------------------------------------------------------------------


def _auto(container: dict[str, Any], param: str) -> dict[str, Any]:
    for name in container:
        if name not in ("type", "file_ids", "memory_limit", "network_policy"):
            raise unknown_parameter(f"{param}.{name}")
    if container.get("type") != "auto":
        raise invalid_value(f"{param}.type", container.get("type"), ["auto"])
    echoed: dict[str, Any] = {"type": "auto"}
    file_ids = container.get("file_ids")
    if file_ids is not None:
        if not isinstance(file_ids, list) or not all(isinstance(f, str) for f in file_ids):
            raise invalid_type(f"{param}.file_ids", "an array of strings", file_ids)
        if len(file_ids) > MAX_FILE_IDS:
            raise invalid(
                f"Invalid '{param}.file_ids': array too long. Expected an array with maximum "
                f"length {MAX_FILE_IDS}, but got an array with length {len(file_ids)} instead.",
                f"{param}.file_ids",
                "array_above_max_length",
            )
        echoed["file_ids"] = file_ids
    memory = container.get("memory_limit")
    if memory is not None:
        if memory not in MEMORY_LIMITS:
            raise invalid_value(f"{param}.memory_limit", memory, list(MEMORY_LIMITS))
        echoed["memory_limit"] = memory
    policy = container.get("network_policy")
    if policy is not None and (not isinstance(policy, dict) or policy.get("type") != "disabled"):
        raise invalid(
            "Only network_policy {'type': 'disabled'} is supported: code in this server's "
            "containers has no network.",
            f"{param}.network_policy",
            "unsupported_value",
        )
    return echoed


def _container_for(ctx: HostedContext, containers: Containers) -> str:
    """The container a call runs in (blocking: file copies)."""
    config = next(t for t in ctx.request.tools if t["type"] == TYPE)["container"]
    if isinstance(config, str):
        return containers.active(config, "tools").id
    container_id = _active_in_context(ctx.items, containers)
    if container_id is None:
        memory = config.get("memory_limit") or "1g"
        container_id = containers.create(AUTO_NAME, memory_limit=memory).id
    wanted = [*config.get("file_ids", []), *_input_file_ids(ctx.items)]
    for file_id in dict.fromkeys(wanted):
        upload = containers.uploads.get(file_id)
        if upload is not None and not containers.has_upload(container_id, upload.filename):
            containers.copy_upload(container_id, file_id)
    return container_id


def _active_in_context(items: list[Item], containers: Containers) -> str | None:
    """The container of the latest call in the context, if it can still be used."""
    for item in reversed(items):
        if item["type"] == CALL and item.get("container_id"):
            try:
                return containers.active(item["container_id"]).id
            except Exception:  # expired or deleted: `auto` makes a new one, as the service does
                return None
    return None


def _input_file_ids(items: list[Item]) -> list[str]:
    """Files given by id in the input: the service puts them into the container too."""
    found: list[str] = []
    for item in items:
        content = item.get("content") if item["type"] == "message" else None
        for part in content if isinstance(content, list) else []:
            if part.get("type") == "input_file" and isinstance(part.get("file_id"), str):
                found.append(part["file_id"])
    return found


# --- items and events ----------------------------------------------------------------------------


async def _run(containers: Containers, container_id: str, code: str) -> RunResult:
    """Run a cell on the containers' own threads (never the shared pool); a cancelled response
    interrupts the cell, and its thread is done before the response ends."""
    job = containers.cells.submit(containers.run, container_id, code)
    running = asyncio.wrap_future(job)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        if not job.cancel():  # it started: stop it (until it has, it may still be starting)
            while not running.done():
                containers.interrupt(container_id, "The response was cancelled")
                await asyncio.wait({running}, timeout=0.1)
        raise


def _outputs(result: RunResult) -> list[Item]:
    execution = result.execution
    outputs: list[Item] = []
    if execution.logs:
        outputs.append({"type": "logs", "logs": execution.logs})
    for image in execution.images:
        url = "data:image/png;base64," + base64.b64encode(image).decode()
        outputs.append({"type": "image", "url": url})
    return outputs


def _remember(item_id: str, result: RunResult) -> None:
    names = tuple(entry.relative for entry in result.files)
    _RUNS[item_id] = _Ran(result.execution.logs, result.execution.failed is not None, names)
    if len(_RUNS) > _RUNS_KEPT:
        _RUNS.popitem(last=False)


def _logs_of(item: Item) -> str:
    outputs = item.get("outputs") or []
    return "".join(o.get("logs", "") for o in outputs if o.get("type") == "logs")


def _cite(message: Item, container_id: str, containers: Containers) -> None:
    try:
        files = {f"sandbox:{f.path}": f for f in containers.files(container_id)}
    except Exception:
        return
    for part in message.get("content", []):
        if part.get("type") != "output_text":
            continue
        for match in _LINK.finditer(part["text"]):
            entry = files.get(match.group(0))
            if entry is None:
                continue
            part["annotations"].append(
                {
                    "type": "container_file_citation",
                    "container_id": container_id,
                    "end_index": match.end(),
                    "file_id": entry.id,
                    "filename": entry.filename,
                    "start_index": match.start(),
                }
            )


def _events(index: int, item: Item, obfuscate: bool) -> Iterator[Event]:
    where = {"output_index": index, "item_id": item["id"]}
    started = {**item, "status": "in_progress", "code": "", "outputs": []}
    yield {"type": "response.output_item.added", "output_index": index, "item": started}
    yield {"type": "response.code_interpreter_call.in_progress", **where}
    code = item.get("code") or ""
    for piece in _PIECE.findall(code):
        delta: Event = {
            "type": "response.code_interpreter_call_code.delta",
            **where,
            "delta": piece,
        }
        if obfuscate:
            delta["obfuscation"] = os.urandom(8).hex()[: max(2, 16 - len(piece))]
        yield delta
    yield {"type": "response.code_interpreter_call_code.done", **where, "code": code}
    yield {"type": "response.code_interpreter_call.interpreting", **where}
    yield {"type": "response.code_interpreter_call.completed", **where}
    yield {"type": "response.output_item.done", "output_index": index, "item": item}


CALL_FIELDS = ("type", "id", "status", "code", "container_id", "outputs")


def _call_input(value: dict[str, Any], param: str) -> Item:
    """A `code_interpreter_call` sent back as input (stateless chaining replays it by value)."""
    only_fields(value, param, CALL_FIELDS)
    for name in ("id", "container_id"):
        string_field(value, name, param)
    code = string_field(value, "code", param, required=False)
    outputs = value.get("outputs")
    if outputs is not None and not isinstance(outputs, list):
        raise invalid_type(f"{param}.outputs", "an array", outputs)
    return {
        "id": value["id"],
        "type": CALL,
        "status": str(value.get("status") or "completed"),
        "code": code,
        "container_id": value["container_id"],
        "outputs": outputs,
    }


register(CodeInterpreterTool())
