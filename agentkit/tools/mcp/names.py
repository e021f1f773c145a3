"""Map MCP tool names to function names the Responses API accepts, uniquely and reversibly.

MCP allows names the API refuses (dots, slashes, spaces, more than 64 characters). A name that
is already valid is kept; any other is sanitized and given a short hash of the original, so two
names that sanitize alike stay distinct. Names that clash across servers (or with the agent's
own tools) are prefixed with their server's name. Calls are routed back through the mapping,
never by undoing the sanitizing.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Collection, Sequence

log = logging.getLogger("agentkit.mcp")

MAX_NAME = 64
_VALID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_INVALID_CHARS = re.compile(r"[^a-zA-Z0-9_-]+")
_HASH_CHARS = 8


def function_name(name: str) -> str:
    """`name` if it is a valid function name, else a sanitized form with a hash of `name`."""
    if _VALID.fullmatch(name):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_CHARS]
    stem = _INVALID_CHARS.sub("_", name).strip("_")[: MAX_NAME - _HASH_CHARS - 1]
    return f"{stem}_{digest}" if stem else f"tool_{digest}"


def server_slug(text: str, *, limit: int = 32) -> str:
    """A short identifier made of the characters function names allow (for server names)."""
    slug = _INVALID_CHARS.sub("_", text).strip("_-")[:limit].rstrip("_-")
    return slug or "mcp"


def assign_names(
    servers: Sequence[tuple[str, Sequence[str]]], reserved: Collection[str] = ()
) -> list[dict[str, str]]:
    """For each `(server name, MCP tool names)`, a `{function name: MCP tool name}` mapping.

    A name is prefixed with its server's name when the plain name would clash with another
    server's tool or with a `reserved` name (the agent's own tools). A tool whose name still
    clashes (a server listing the same name twice) is left out, with a warning.
    """
    plain = [[function_name(tool) for tool in tools] for _, tools in servers]
    counts = Counter(name for names in plain for name in set(names))
    taken = set(reserved)
    mappings: list[dict[str, str]] = []
    for (server, tools), names in zip(servers, plain, strict=True):
        mapping: dict[str, str] = {}
        for tool, name in zip(tools, names, strict=True):
            if counts[name] > 1 or name in reserved:
                name = function_name(f"{server}_{tool}")
            if name in taken:
                log.warning("MCP server %r: skipping tool %r, its name clashes", server, tool)
                continue
            taken.add(name)
            mapping[name] = tool
        mappings.append(mapping)
    return mappings
