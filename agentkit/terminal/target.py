"""Find the user's agent from `MODULE:ATTR` (a module path or a `.py` file, then a name)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from agentkit.agent import Agent
from agentkit.errors import UserError

__all__ = ["load_agent"]


def load_agent(target: str) -> Agent[Any]:
    """The `Agent` that `target` names: `package.module:agent`, `path/to/file.py:agent`, or a
    function taking no arguments that returns one (`module:make_agent`)."""
    module_name, _, attribute = target.rpartition(":")
    if not module_name or not attribute:
        raise UserError(f"expected MODULE:ATTR, such as my_app.agents:agent, not {target!r}")
    module = _import(module_name)
    found: Any = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise UserError(f"{module_name} has no attribute {attribute!r}")
        found = getattr(found, part)
    if callable(found) and not isinstance(found, Agent):
        found = found()
    if not isinstance(found, Agent):
        raise UserError(f"{target} is a {type(found).__name__}, not an agentkit Agent")
    return found


def _import(name: str) -> Any:
    # The current folder first, as `python -m` would: the user's code lives there.
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    if name.endswith(".py") or "/" in name:
        return _import_file(Path(name))
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name and name.startswith(error.name):
            raise UserError(f"no module named {name!r} (from the current folder)") from None
        raise


def _import_file(path: Path) -> Any:
    if not path.is_file():
        raise UserError(f"no file {path}")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module
