"""The public API is exactly `agentkit.__all__`, and importing it stays light."""

from __future__ import annotations

import importlib.util
import inspect
import json
import subprocess
import sys
import types

import pytest

import agentkit

LAZY = ("mcp", "azure.identity", "temporalio", "sqlite3", "opentelemetry")


def python(code: str) -> str:
    """Run `code` in a fresh interpreter; its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def test_all_is_sorted_and_unique() -> None:
    assert agentkit.__all__ == sorted(set(agentkit.__all__))


def test_every_name_in_all_exists() -> None:
    missing = [name for name in agentkit.__all__ if not hasattr(agentkit, name)]
    assert missing == []


def test_every_public_class_and_function_is_in_all() -> None:
    """A public name is in `__all__` or is a submodule; nothing else leaks from the package."""
    unlisted = []
    for name, value in vars(agentkit).items():
        # "@py_builtins" and the like: pytest rewrites the asserts of a package whose
        # distribution has a pytest plugin (agentkit.testing), as for every such package.
        if name.startswith(("_", "@")) or name in agentkit.__all__ or name == "annotations":
            continue
        if isinstance(value, types.ModuleType):
            assert value.__name__ == f"agentkit.{name}", f"{name} is a foreign module"
            continue
        unlisted.append(name)
    assert unlisted == []


def test_exported_classes_and_functions_are_agentkits_own() -> None:
    foreign = [
        name
        for name in agentkit.__all__
        if (inspect.isclass(obj := getattr(agentkit, name)) or inspect.isfunction(obj))
        and not obj.__module__.startswith("agentkit.")
    ]
    assert foreign == []


def test_subpackages_all_name_only_what_they_define() -> None:
    for module in (agentkit.model, agentkit.run, agentkit.tools):
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert missing == [], module.__name__


def test_import_does_not_load_optional_heavy_modules() -> None:
    loaded = json.loads(
        python(
            "import json, sys, agentkit\n"
            f"print(json.dumps([m for m in {LAZY!r} if m in sys.modules]))"
        )
    )
    assert loaded == []


def test_the_lazy_modules_are_real_dependencies() -> None:
    """The check above would pass vacuously if these names were wrong."""
    assert all(importlib.util.find_spec(name) is not None for name in LAZY)


def test_import_time_relative_to_openai(capsys: pytest.CaptureFixture[str]) -> None:
    """Printed for information only: timings belong to bench/, not to assertions."""
    code = (
        "import time\n"
        "start = time.perf_counter()\n"
        "import openai\n"
        "middle = time.perf_counter()\n"
        "import agentkit\n"
        "print(middle - start, time.perf_counter() - middle)"
    )
    runs = [tuple(map(float, python(code).split())) for _ in range(3)]
    openai_s = min(run[0] for run in runs)
    extra_s = min(run[1] for run in runs)
    with capsys.disabled():
        print(
            f"\nimport openai: {openai_s * 1000:.0f} ms; import agentkit after it: "
            f"+{extra_s * 1000:.0f} ms ({(openai_s + extra_s) / openai_s:.2f}x openai alone)"
        )
