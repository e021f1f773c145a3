"""Function tools: `@tool` turns a Python function into a schema the model sees and a call it makes."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeAlias, cast, overload

import pydantic
import pydantic_core
from typing_extensions import TypeVar

from agentkit._threads import in_daemon_thread
from agentkit.context import RunContext
from agentkit.errors import ToolDefinitionError, ToolError
from agentkit.tools.arguments import Arguments, build_arguments
from agentkit.tools.docstrings import parse_docstring
from agentkit.tools.hosted import fingerprint
from agentkit.tools.schema import JsonSchema, tool_parameters

ApprovalPredicate: TypeAlias = Callable[[RunContext[Any], dict[str, Any]], bool | Awaitable[bool]]
NeedsApproval: TypeAlias = bool | ApprovalPredicate

DepsT = TypeVar("DepsT", contravariant=True, default=Any)
"""The deps a tool's `RunContext[Deps]` expects (unused at run time: for type checkers)."""
_D = TypeVar("_D")
_P = ParamSpec("_P")

_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_MAX_ECHOED_INPUT = 200


class _ToolFailure(Exception):
    """A failed tool call, carrying the message the model (or `ToolError`) gets."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


ToolOutput = str | list[dict[str, Any]]
"""A function call output: text, or `input_text` / `input_image` / `input_file` parts."""


def output_text(output: ToolOutput) -> str:
    """An output's text: itself, or its `input_text` parts joined (for events and logs)."""
    if isinstance(output, str):
        return output
    return "\n".join(str(p["text"]) for p in output if p.get("type") == "input_text")


@dataclass(frozen=True, eq=False, kw_only=True)
class FunctionTool(Generic[DepsT]):
    """A Python function the model can call: its Responses API definition and how to invoke it.

    Build one with `@tool` (or `as_tool`); the schema and validator are made once, up front.
    `FunctionTool[Deps]` is a tool whose first parameter is a `RunContext[Deps]`: type checkers
    accept it only in an `Agent` whose deps are a `Deps`.
    """

    name: str
    description: str
    parameters: JsonSchema
    strict: bool
    timeout: float | None = None
    raise_errors: bool = False
    needs_approval: NeedsApproval = False
    _function: Callable[..., Any] = field(repr=False)
    _arguments: Arguments = field(repr=False)
    _is_async: bool = field(init=False, repr=False)
    _param: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Check the configuration and build the request param once."""
        _check_name(self.name)
        if self.timeout is not None and self.timeout <= 0:
            raise ToolDefinitionError(f"Tool {self.name!r}: timeout must be positive seconds")
        param = {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
            "strict": self.strict,
        }
        object.__setattr__(self, "_param", param)
        object.__setattr__(self, "_is_async", inspect.iscoroutinefunction(self._function))

    @classmethod
    def from_function(
        cls,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        strict: bool | None = None,
        timeout: float | None = None,
        raise_errors: bool = False,
        needs_approval: NeedsApproval = False,
    ) -> FunctionTool[Any]:
        """Wrap `func`: schema from its type hints, descriptions from its docstring."""
        tool_name = _check_name(name if name is not None else _function_name(func))
        docs = parse_docstring(func)
        arguments = build_arguments(func, tool_name, docs.params)
        parameters, is_strict = tool_parameters(arguments.schema, tool_name, strict)
        return cls(
            name=tool_name,
            description=docs.description if description is None else description,
            parameters=parameters,
            strict=is_strict,
            timeout=timeout,
            raise_errors=raise_errors,
            needs_approval=needs_approval,
            _function=func,
            _arguments=arguments,
        )

    def to_param(self) -> dict[str, Any]:
        """The Responses API tool definition (built once and shared: don't mutate it)."""
        return self._param

    def definition_hash(self) -> str:
        """A hash of what the model and the user see of this tool: an approval is given for it."""
        return fingerprint([self.to_param()])

    async def approval_required(self, ctx: RunContext[Any], arguments_json: str) -> bool:
        """Whether this call needs the user's approval before it runs.

        A predicate sees the arguments as the model sent them; arguments that are not a JSON
        object need no approval, since `invoke` will refuse them without running the function.
        """
        if isinstance(self.needs_approval, bool):
            return self.needs_approval
        try:
            data = _decode(arguments_json, self.name)
        except _ToolFailure:
            return False
        decision = self.needs_approval(ctx, data)
        if inspect.isawaitable(decision):
            decision = await decision
        return bool(decision)

    async def output(
        self, ctx: RunContext[Any], arguments: str, *, call_id: str | None = None
    ) -> ToolOutput:
        """What the model reads for this call: `invoke`'s text, or content parts for tools
        whose results carry more than text (an MCP tool's images)."""
        return await self.invoke(ctx, arguments, call_id=call_id)

    async def invoke(
        self, ctx: RunContext[Any], arguments: str, *, call_id: str | None = None
    ) -> str:
        """Run the tool on the model's JSON arguments and return the output the model reads.

        Failures become an `Error: ...` output the model can act on, or a `ToolError` when
        `raise_errors` is set. A sync function that times out keeps running in its daemon
        thread, which neither the run nor the interpreter's exit waits for.
        """
        try:
            args, kwargs = self._bind(ctx, arguments)
            return _serialize(await self._call(args, kwargs), self.name)
        except _ToolFailure as failure:
            if self.raise_errors:
                error = ToolError(failure.message, tool_name=self.name, call_id=call_id)
                raise error from failure.__cause__
            return f"Error: {failure.message}"

    def _bind(self, ctx: RunContext[Any], arguments: str) -> tuple[list[Any], dict[str, Any]]:
        """Decode and validate the arguments into the function's call arguments."""
        data = _decode(arguments, self.name)
        try:
            values = self._arguments.validate(data)
        except pydantic.ValidationError as exc:
            raise _ToolFailure(_validation_message(exc, self.name)) from exc
        return self._arguments.bind(ctx, values)

    async def _call(self, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Call the function within the timeout; a sync one in a thread that a timeout abandons."""
        scope = asyncio.timeout(self.timeout)
        try:
            async with scope:
                if self._is_async:
                    return await self._function(*args, **kwargs)
                result = await in_daemon_thread(self._function, *args, **kwargs)
                return await result if inspect.isawaitable(result) else result
        except TimeoutError as exc:
            if scope.expired():
                raise _ToolFailure(
                    f"{self.name} timed out after {float(self.timeout or 0)} s"
                ) from exc
            raise _ToolFailure(_raised_message(exc, self.name)) from exc
        except Exception as exc:
            raise _ToolFailure(_raised_message(exc, self.name)) from exc


class ToolDecorator(Protocol):
    """What `@tool(...)` with options returns: `@tool` without them."""

    @overload
    def __call__(
        self, func: Callable[Concatenate[RunContext[_D], _P], Any], /
    ) -> FunctionTool[_D]: ...

    @overload
    def __call__(self, func: Callable[..., Any], /) -> FunctionTool[Any]: ...


@overload
def tool(func: Callable[Concatenate[RunContext[_D], _P], Any], /) -> FunctionTool[_D]: ...


@overload
def tool(func: Callable[..., Any], /) -> FunctionTool[Any]: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool | None = None,
    timeout: float | None = None,
    raise_errors: bool = False,
    needs_approval: NeedsApproval = False,
) -> ToolDecorator: ...


def tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool | None = None,
    timeout: float | None = None,
    raise_errors: bool = False,
    needs_approval: NeedsApproval = False,
) -> FunctionTool[Any] | ToolDecorator:
    """Turn a sync or async function into a `FunctionTool`; use bare (`@tool`) or with options.

    A function whose first parameter is a `RunContext[Deps]` becomes a `FunctionTool[Deps]`,
    which type checkers accept only in an agent with `deps_type=Deps` (or a subclass's).

    Args:
        name: The name the model calls; defaults to the function's name.
        description: Overrides the docstring's summary.
        strict: None = strict when the schema allows it (else warn and fall back),
            True = strict or raise `ToolDefinitionError`, False = never strict.
        timeout: Seconds before the call is abandoned and reported as timed out.
        raise_errors: Raise `ToolError` instead of telling the model about failures.
        needs_approval: True, or a predicate `(ctx, arguments) -> bool` (sync or async).
    """

    def decorate(function: Callable[..., Any]) -> FunctionTool[Any]:
        return FunctionTool.from_function(
            function,
            name=name,
            description=description,
            strict=strict,
            timeout=timeout,
            raise_errors=raise_errors,
            needs_approval=needs_approval,
        )

    return cast(ToolDecorator, decorate) if func is None else decorate(func)


def as_tool(obj: FunctionTool[Any] | Callable[..., Any]) -> FunctionTool[Any]:
    """Return `obj` if it is already a `FunctionTool`, else wrap the function with defaults."""
    if isinstance(obj, FunctionTool):
        return obj
    if not callable(obj):
        raise ToolDefinitionError(f"{obj!r} is not a tool: pass a function or a FunctionTool")
    return FunctionTool.from_function(obj)


def unknown_tool_output(name: str, available: Iterable[str]) -> str:
    """The output for a call to a tool that does not exist, naming those that do."""
    names = ", ".join(available)
    if not names:
        return f"Error: there is no tool named {name!r}, and no tools are available."
    return f"Error: there is no tool named {name!r}. Available tools: {names}."


def _check_name(name: str) -> str:
    """Return `name` if the Responses API accepts it as a function name, else raise."""
    if not _NAME.fullmatch(name):
        raise ToolDefinitionError(
            f"Invalid tool name {name!r}: use 1 to 64 letters, digits, '_' or '-' (pass name=...)"
        )
    return name


def _function_name(func: Callable[..., Any]) -> str:
    """The function's `__name__`, which becomes the tool's name by default."""
    name = getattr(func, "__name__", None)
    if not isinstance(name, str):
        raise ToolDefinitionError(f"Cannot name a tool after {func!r}: pass name=...")
    return name


def _decode(arguments: str, tool_name: str) -> dict[str, Any]:
    """Decode the JSON arguments, which must be an object (empty means no arguments)."""
    if not arguments or arguments.isspace():
        return {}
    try:
        data = json.loads(arguments)
    except json.JSONDecodeError as exc:
        raise _ToolFailure(
            f"the arguments are not valid JSON ({exc.msg}: line {exc.lineno} column {exc.colno}). "
            f"Call {tool_name} again with a JSON object."
        ) from exc
    if not isinstance(data, dict):
        raise _ToolFailure(
            f"the arguments must be a JSON object, not {type(data).__name__}. "
            f"Call {tool_name} again with a JSON object."
        )
    return data


def _validation_message(exc: pydantic.ValidationError, tool_name: str) -> str:
    """List each invalid argument with pydantic's explanation, so the model can fix it."""
    lines = [f"the arguments for {tool_name} are invalid:"]
    for error in exc.errors(include_url=False):
        line = f"- {_location(error['loc'])}: {error['msg']}"
        if error["type"] != "missing":
            line += f" (got {_echo(error['input'])})"
        lines.append(line)
    lines.append(f"Call {tool_name} again with corrected arguments.")
    return "\n".join(lines)


def _location(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a path: `items[0].name`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or "(arguments)"


def _echo(value: Any) -> str:
    """The offending input as compact JSON, shortened so a huge value can't flood the output."""
    text = pydantic_core.to_json(value, serialize_unknown=True).decode()
    return text if len(text) <= _MAX_ECHOED_INPUT else text[:_MAX_ECHOED_INPUT] + "..."


def _raised_message(exc: BaseException, tool_name: str) -> str:
    """Describe an exception raised by the tool's function."""
    detail = str(exc)
    kind = type(exc).__name__
    return f"{tool_name} raised {kind}: {detail}" if detail else f"{tool_name} raised {kind}"


def _serialize(value: Any, tool_name: str) -> str:
    """The output text: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    try:
        return pydantic_core.to_json(value, serialize_unknown=True).decode()
    except pydantic_core.PydanticSerializationError as exc:
        raise _ToolFailure(f"{tool_name} returned a value that is not JSON: {exc}") from exc
