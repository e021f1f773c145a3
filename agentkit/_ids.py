"""Identifiers in the Responses API's style: a type prefix and random hex."""

from __future__ import annotations

import os


def new_id(prefix: str) -> str:
    """A fresh id such as `resp_6f1c…` (48 hex digits, like the service's)."""
    return f"{prefix}_{os.urandom(24).hex()}"
