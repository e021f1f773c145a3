"""A function's signature as a pydantic model: the tool's schema, validator and call binding."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

import pydantic
from pydantic import BaseModel, ConfigDict
from pydantic.fields import FieldInfo

from agentkit.context import RunContext
from agentkit.errors import ToolDefinitionError
from agentkit.tools.schema import JsonSchema, is_nullable, subschemas

_CONFIG = ConfigDict(extra="forbid", protected_namespaces=())
_UNSUPPORTED_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


@dataclass(frozen=True)
class _Slot:
    """One parameter of the function: filled from a model field, or the run context if `field` is None."""

    name: str
    field: str | None
    positional_only: bool


@dataclass(frozen=True)
class Arguments:
    """How a tool's JSON arguments become a call: validation model, JSON schema and binding."""

    model: type[BaseModel]
    schema: JsonSchema
    slots: tuple[_Slot, ...]
    null_defaults: frozenset[str]
    nested_null_defaults: bool

    def validate(self, data: dict[str, Any]) -> BaseModel:
        """Validate decoded JSON arguments into typed values (raises `pydantic.ValidationError`).

        A `null` for a parameter that has a default but does not accept `None` means "use the
        default": strict mode makes every property required, so that is how the model omits one.
        """
        if self.nested_null_defaults:
            drop_null_defaults(data, self.schema, self.schema.get("$defs", {}))
        else:
            for key in self.null_defaults:
                if key in data and data[key] is None:
                    del data[key]
        return self.model.model_validate(data)

    def bind(self, ctx: RunContext[Any], values: BaseModel) -> tuple[list[Any], dict[str, Any]]:
        """Positional and keyword arguments for the function, with `ctx` where it asked for it."""
        fields = values.__dict__
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for slot in self.slots:
            value = ctx if slot.field is None else fields[slot.field]
            if slot.positional_only:
                args.append(value)
            else:
                kwargs[slot.name] = value
        return args, kwargs


def build_arguments(
    func: Callable[..., Any], tool_name: str, param_docs: dict[str, str]
) -> Arguments:
    """Build the arguments model of `func` once, at decoration time."""
    signature = _signature(func, tool_name)
    fields: dict[str, Any] = {}
    slots: list[_Slot] = []
    for param in signature.parameters.values():
        slot = _slot(param, tool_name, taken=signature.parameters.keys() | fields.keys())
        if slot.field is None and any(s.field is None for s in slots):
            raise ToolDefinitionError(f"Tool {tool_name!r} has more than one RunContext parameter")
        if slot.field is not None:
            fields[slot.field] = _field(param, param_docs.get(param.name), slot.field)
        slots.append(slot)
    model = _create_model(tool_name, fields)
    schema = _json_schema(model, tool_name)
    return Arguments(
        model=model,
        schema=schema,
        slots=tuple(slots),
        null_defaults=frozenset(_null_defaults(schema)),
        nested_null_defaults=any(map(has_null_defaults, subschemas(schema))),
    )


def _signature(func: Callable[..., Any], tool_name: str) -> inspect.Signature:
    """The signature with string annotations (`from __future__ import annotations`) resolved."""
    try:
        return inspect.signature(func, eval_str=True)
    except NameError as exc:
        raise ToolDefinitionError(
            f"Tool {tool_name!r}: cannot resolve a type annotation ({exc}); "
            "types used in annotations must be importable from the function's module"
        ) from exc


def _slot(param: inspect.Parameter, tool_name: str, taken: Any) -> _Slot:
    """Classify one parameter: injected run context or a model field (with a safe field name)."""
    if param.kind in _UNSUPPORTED_KINDS:
        raise ToolDefinitionError(
            f"Tool {tool_name!r}: variadic parameter {param.name!r} is not supported; "
            "declare each argument explicitly"
        )
    positional_only = param.kind is inspect.Parameter.POSITIONAL_ONLY
    if is_run_context(param.annotation):
        return _Slot(param.name, None, positional_only)
    if _mentions_run_context(param.annotation):
        raise ToolDefinitionError(
            f"Tool {tool_name!r}: parameter {param.name!r} must be annotated RunContext[...] "
            "directly to receive the run context"
        )
    return _Slot(param.name, _field_name(param.name, taken), positional_only)


def is_run_context(annotation: Any) -> bool:
    """Whether `annotation` is `RunContext` or a parametrized `RunContext[Deps]`."""
    return annotation is RunContext or get_origin(annotation) is RunContext


def _mentions_run_context(annotation: Any) -> bool:
    """Whether RunContext hides inside another annotation (e.g. `RunContext | None`)."""
    return any(is_run_context(a) or _mentions_run_context(a) for a in get_args(annotation))


def _field_name(name: str, taken: Any) -> str:
    """The parameter name, or an alias-backed stand-in when pydantic can't use it as a field."""
    if not name.startswith("_") and not hasattr(BaseModel, name):
        return name
    candidate = f"field_{name.lstrip('_')}"
    while candidate in taken:
        candidate += "_"
    return candidate


def _field(param: inspect.Parameter, doc: str | None, field_name: str) -> tuple[Any, Any]:
    """The pydantic field for a parameter; an `Annotated` Field description wins over the docstring."""
    annotation = Any if param.annotation is inspect.Parameter.empty else param.annotation
    if isinstance(param.default, FieldInfo):
        return annotation, param.default
    options: dict[str, Any] = {}
    if doc and not _annotated_description(annotation):
        options["description"] = doc
    if field_name != param.name:
        options["alias"] = param.name
    default = ... if param.default is inspect.Parameter.empty else param.default
    return annotation, pydantic.Field(default, **options)


def _annotated_description(annotation: Any) -> bool:
    """Whether an `Annotated[...]` annotation already carries a Field description."""
    if get_origin(annotation) is not Annotated:
        return False
    return any(isinstance(m, FieldInfo) and m.description for m in get_args(annotation)[1:])


def _create_model(tool_name: str, fields: dict[str, Any]) -> type[BaseModel]:
    """Create the arguments model, turning pydantic's complaints into a definition error."""
    try:
        return pydantic.create_model(tool_name, __config__=_CONFIG, **fields)
    except pydantic.PydanticUserError as exc:
        raise ToolDefinitionError(f"Tool {tool_name!r}: unsupported parameter type: {exc}") from exc


def _json_schema(model: type[BaseModel], tool_name: str) -> JsonSchema:
    """pydantic's JSON schema of the arguments model."""
    try:
        return model.model_json_schema()
    except pydantic.PydanticUserError as exc:
        raise ToolDefinitionError(
            f"Tool {tool_name!r}: no JSON schema for a parameter: {exc}"
        ) from exc


def _null_defaults(node: JsonSchema) -> list[str]:
    """The optional properties of an object schema that do not accept `null`."""
    required = node.get("required", ())
    properties: dict[str, Any] = node.get("properties", {})
    return [
        name
        for name, prop in properties.items()
        if name not in required and isinstance(prop, dict) and not is_nullable(prop)
    ]


def has_null_defaults(schema: JsonSchema) -> bool:
    """Whether any object in `schema` has an optional property that does not accept `null`."""
    pending = [schema]
    while pending:
        node = pending.pop()
        if _null_defaults(node):
            return True
        pending.extend(subschemas(node))
    return False


def drop_null_defaults(value: Any, node: JsonSchema, defs: dict[str, JsonSchema]) -> None:
    """Delete the `null`s sent for optional non-nullable properties, so their defaults apply."""
    ref = node.get("$ref")
    if isinstance(ref, str):
        node = defs.get(ref.rsplit("/", 1)[-1], {})
    if isinstance(value, dict):
        _drop_in_object(value, node, defs)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for item in value:
            drop_null_defaults(item, node["items"], defs)
    for key in ("anyOf", "oneOf", "allOf"):
        for variant in node.get(key, ()):
            drop_null_defaults(value, variant, defs)


def _drop_in_object(value: dict[str, Any], node: JsonSchema, defs: dict[str, JsonSchema]) -> None:
    """`drop_null_defaults` for one JSON object and its nested values."""
    properties: dict[str, JsonSchema] = node.get("properties", {})
    required = node.get("required", ())
    for key in [k for k in value if k in properties]:
        prop = properties[key]
        if value[key] is None and key not in required and not is_nullable(prop):
            del value[key]
        else:
            drop_null_defaults(value[key], prop, defs)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        for key in value.keys() - properties.keys():
            drop_null_defaults(value[key], extra, defs)
