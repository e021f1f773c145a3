"""Errors the server answers with, in the service's shape: {"error": {message, type, param, code}}."""

from __future__ import annotations

from typing import Any


class APIError(Exception):
    """An error response: HTTP status plus the service's error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def listed(values: list[str]) -> str:
    """Values as the service lists them: 'a' and 'b'; 'a', 'b', and 'c'."""
    quoted = [f"'{value}'" for value in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def invalid(message: str, param: str | None = None, code: str | None = None) -> APIError:
    """A 400 invalid_request_error."""
    return APIError(400, message, param=param, code=code)


def invalid_type(param: str, expected: str, value: Any) -> APIError:
    return invalid(
        f"Invalid type for '{param}': expected {expected}, but got {describe(value)} instead.",
        param,
        "invalid_type",
    )


def invalid_value(param: str, value: Any, supported: list[str] | None = None) -> APIError:
    shown = value if isinstance(value, str) else repr(value)
    message = f"Invalid value: '{shown}'."
    if supported:
        message += f" Supported values are: {listed(supported)}."
    return invalid(message, param, "invalid_value")


def missing(param: str) -> APIError:
    return invalid(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")


def unknown_parameter(param: str) -> APIError:
    return invalid(f"Unknown parameter: '{param}'.", param, "unknown_parameter")


def not_found(message: str, param: str | None = None) -> APIError:
    return APIError(404, message, param=param)


def describe(value: Any) -> str:
    """How the service names a JSON value's type in error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
