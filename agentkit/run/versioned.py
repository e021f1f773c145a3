"""Pydantic reads and writes agentkit's saved types by their versioned JSON (`to_dict`/`from_dict`).

So a `Conversation` or `RunState` inside any pydantic-serialized value (a Temporal payload, a
web framework's model) keeps its `format` field and is read back by the code that checks it —
also where pydantic serializes by inference (`pydantic_core.to_json`), which would otherwise
take a dataclass field by field.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from pydantic_core import CoreSchema, SchemaSerializer, core_schema

from agentkit.errors import AgentkitError


class Saved(Protocol):
    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, data: dict[str, Any], /) -> Any: ...


T = TypeVar("T", bound=type[Saved])


def versioned(cls: T) -> T:
    """Class decorator: pydantic validates `cls` by `from_dict` and serializes it by `to_dict`."""
    schema = _schema(cls)

    def core(owner: type, source: Any, handler: Any) -> CoreSchema:
        return schema

    setattr(cls, "__get_pydantic_core_schema__", classmethod(core))  # noqa: B010
    setattr(cls, "__pydantic_serializer__", SchemaSerializer(schema))  # noqa: B010
    return cls


def _schema(cls: type[Saved]) -> CoreSchema:
    def validate(value: Any) -> Any:
        if isinstance(value, cls):
            return value
        if not isinstance(value, dict):
            raise ValueError(f"a saved {cls.__name__} is a JSON object, not {type(value).__name__}")
        try:
            return cls.from_dict(value)
        except AgentkitError as error:  # pydantic reports ValueErrors as validation errors
            raise ValueError(str(error)) from error

    def dump(value: Saved) -> dict[str, Any]:
        return value.to_dict()

    return core_schema.no_info_plain_validator_function(
        validate, serialization=core_schema.plain_serializer_function_ser_schema(dump)
    )
