"""An MCP server's tool as a `FunctionTool`: a bounded, strict-if-possible schema and routed calls.

MCP input schemas come from a server agentkit does not control: they may be huge, deeply
nested, invalid, or beyond what strict mode expresses. A tool whose schema is over the bounds
or invalid is skipped with a warning (one bad tool must not fail every request); a schema that
can't be strict is sent with `strict: false`, logged at debug level only, since that is common
and not something the user can fix.
"""

from __future__ import annotations

import asyncio
import json
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pydantic

from agentkit.context import RunContext
from agentkit.tools.arguments import Arguments, drop_null_defaults, has_null_defaults
from agentkit.tools.function import FunctionTool, ToolOutput, _decode, _ToolFailure, output_text
from agentkit.tools.hosted import fingerprint
from agentkit.tools.mcp.results import error_text, result_parts, result_text
from agentkit.tools.mcp.servers import MCPConnectionError, describe
from agentkit.tools.schema import JsonSchema, clean_schema, to_strict_schema

if TYPE_CHECKING:
    from mcp.types import CallToolResult, Tool

log = logging.getLogger("agentkit.mcp")

MAX_SCHEMA_BYTES = 64 * 1024
MAX_SCHEMA_DEPTH = 32
MAX_DESCRIPTION = 1024
_ROOT_ONLY = ("$schema", "$id")

CallTool = Callable[[str, dict[str, Any]], Awaitable["CallToolResult"]]
"""Sends `tools/call` for an MCP tool name and arguments; raises when the session fails."""

# MCP tools validate their arguments on the server: the pydantic model is never used.
_SERVER_VALIDATES = Arguments(
    model=pydantic.BaseModel,
    schema={},
    slots=(),
    null_defaults=frozenset(),
    nested_null_defaults=False,
)


@dataclass(frozen=True)
class Parameters:
    """The `parameters` and `strict` flag to send for an MCP tool."""

    schema: JsonSchema
    strict: bool
    original: JsonSchema
    """The server's schema, to drop the `null`s strict mode makes the model send for omissions."""


@dataclass(frozen=True, eq=False, kw_only=True)
class MCPTool(FunctionTool):
    """A tool of an MCP server, offered to the model as a function tool under `name`."""

    server: str
    mcp_name: str
    read_only: bool = False
    """The server says the tool changes nothing (`readOnlyHint`); believed for trusted servers."""
    _null_defaults: JsonSchema | None = field(default=None, repr=False)
    _scrub: Callable[[str], str] = field(default=str, repr=False)

    async def invoke(
        self, ctx: RunContext[Any], arguments: str, *, call_id: str | None = None
    ) -> str:
        """Call the MCP tool; every failure becomes an `Error: ...` output the model reads."""
        output = await self.output(ctx, arguments, call_id=call_id)
        return output_text(output)

    async def output(
        self, ctx: RunContext[Any], arguments: str, *, call_id: str | None = None
    ) -> ToolOutput:
        """The call's result: text, or text and `input_image` parts when it returned images;
        the server's secrets are scrubbed from the text (a server may echo its credentials)."""
        try:
            data = _decode(arguments, self.name)
            if self._null_defaults is not None:
                drop_null_defaults(data, self._null_defaults, self._null_defaults.get("$defs", {}))
            result = await self._call_server(data)
        except _ToolFailure as failure:
            return f"Error: {failure.message}"
        parts = result_parts(result)
        if parts is None:
            return self._scrub(result_text(result))
        return [{**p, "text": self._scrub(p["text"])} if "text" in p else p for p in parts]

    async def _call_server(self, data: dict[str, Any]) -> CallToolResult:
        call: CallTool = self._function
        scope = asyncio.timeout(self.timeout)
        try:
            async with scope:
                result = await call(self.mcp_name, data)
        except TimeoutError as exc:
            if scope.expired():
                raise _ToolFailure(f"{self.name} timed out after {self.timeout} s") from exc
            raise _ToolFailure(self._failed(exc)) from exc
        except Exception as exc:
            raise _ToolFailure(self._failed(exc)) from exc
        if result.is_error:
            raise _ToolFailure(self._scrub(error_text(result)))
        return result

    def definition_hash(self) -> str:
        """The tool's definition on its server, as offered; an approval is given for it."""
        where = {"server": self.server, "mcp_name": self.mcp_name, "read_only": self.read_only}
        return fingerprint([self.to_param(), where])

    def _failed(self, exc: BaseException) -> str:
        if isinstance(exc, MCPConnectionError):
            return f"{self.name} is unavailable: {exc}"
        return self._scrub(f"{self.name} failed on MCP server {self.server!r}: {describe(exc)}")


def make_tool(
    tool: Tool,
    *,
    name: str,
    server: str,
    parameters: Parameters,
    call: CallTool,
    timeout: float | None,
    scrub: Callable[[str], str],
    approval: Callable[[str, bool], bool] | None = None,
) -> MCPTool:
    """The function tool that offers `tool` to the model as `name` and routes calls to `call`."""
    original = parameters.original
    needs_drop = parameters.strict and has_null_defaults(original)
    read_only = bool(tool.annotations is not None and tool.annotations.read_only_hint)
    return MCPTool(
        name=name,
        description=description(tool),
        parameters=parameters.schema,
        strict=parameters.strict,
        timeout=timeout,
        server=server,
        mcp_name=tool.name,
        read_only=read_only,
        needs_approval=approval is not None and approval(tool.name, read_only),
        _function=call,
        _arguments=_SERVER_VALIDATES,
        _null_defaults=original if needs_drop else None,
        _scrub=scrub,
    )


def description(tool: Tool) -> str:
    """The tool's description (its title when it has none), cut to a sane length."""
    text = (tool.description or tool.title or "").strip()
    if len(text) <= MAX_DESCRIPTION:
        return text
    return text[: MAX_DESCRIPTION - 1].rstrip() + "…"


def tool_parameters(schema: Any, where: str) -> Parameters | None:
    """Strict parameters when the schema allows, else non-strict; None (and a warning) to skip.

    Args:
        schema: The tool's `inputSchema`, as the server sent it.
        where: "server 'x', tool 'y'", for messages.
    """
    problem = _bounds_problem(schema) or _validity_problem(schema)
    if problem is None:
        schema = _object_root(schema)
        if schema["type"] != "object":
            problem = f"describes a {schema['type']!r}, not an object of arguments"
    if problem is not None:
        log.warning("MCP %s is skipped: its input schema %s", where, problem)
        return None
    try:
        converted = to_strict_schema(schema)
    except Exception as exc:  # untrusted input: any shape the converter did not foresee
        log.debug("MCP %s: strict conversion failed (%r); sending strict=false", where, exc)
    else:
        if not converted.problems:
            return Parameters(converted.schema, True, schema)
        log.debug("MCP %s: not strict (%s)", where, "; ".join(converted.problems))
    return Parameters(clean_schema(schema), False, schema)


def _bounds_problem(schema: Any) -> str | None:
    """Why `schema` is too deep or too large to send, or None."""
    if not isinstance(schema, dict):
        return f"is a {type(schema).__name__}, not an object"
    depth = _depth(schema)
    if depth > MAX_SCHEMA_DEPTH:
        return f"is nested more than {MAX_SCHEMA_DEPTH} levels deep"
    size = len(json.dumps(schema, separators=(",", ":")))
    if size > MAX_SCHEMA_BYTES:
        return f"is {size // 1024} KB of JSON, over the {MAX_SCHEMA_BYTES // 1024} KB limit"
    return None


def _depth(value: Any) -> int:
    """How deeply JSON containers nest in `value` (iterative: the input is untrusted)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, level = pending.pop()
        deepest = max(deepest, level)
        if level > MAX_SCHEMA_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node
        pending.extend((c, level + 1) for c in children if isinstance(c, dict | list))
    return deepest


def _object_root(schema: JsonSchema) -> JsonSchema:
    """The schema as function parameters: typed object at the root, no root-only keywords."""
    root = {key: value for key, value in schema.items() if key not in _ROOT_ONLY}
    if "type" not in root:
        root["type"] = "object"
    if root["type"] == "object" and "properties" not in root:
        root["properties"] = {}
    return root


def _validity_problem(schema: JsonSchema) -> str | None:
    """Why `schema` is not a valid JSON schema (which the API would refuse), or None."""
    from jsonschema import SchemaError
    from jsonschema.validators import Draft202012Validator, validator_for

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # an unknown `$schema` URI
            validator = validator_for(schema, default=Draft202012Validator)
        validator.check_schema(schema)
    except SchemaError as exc:
        return f"is not a valid JSON schema ({exc.message})"
    except Exception as exc:  # e.g. a `$schema` that is not a string
        return f"is not a valid JSON schema ({type(exc).__name__})"
    return None
