"""Tools the approval tests share with the resume subprocess (same definitions, same hash)."""

from __future__ import annotations

from agentkit import tool

deleted: list[str] = []


@tool(needs_approval=True)
def delete_file(path: str) -> str:
    """Delete a file.

    Args:
        path: The file's path.
    """
    deleted.append(path)
    return f"deleted {path}"


@tool
def list_files() -> str:
    """List the files."""
    return "a.txt b.txt"
