"""The `agentkit` subcommands besides `serve`: chat, run, record (their parsers and handlers)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agentkit.errors import AgentkitError

__all__ = ["add_commands", "version"]

TARGET_HELP = "the agent: MODULE:ATTR or path/to/file.py:ATTR (an Agent, or a function making one)"


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return f"agentkit-responses {installed('agentkit-responses')}"
    except PackageNotFoundError:  # run from a source tree
        from agentkit import __version__

        return f"agentkit-responses {__version__}"


def add_commands(commands: Any) -> None:
    """Add `chat`, `run` and `record` to the `agentkit` parser's subcommands."""
    formatter = argparse.ArgumentDefaultsHelpFormatter
    chat = commands.add_parser(
        "chat", help="talk to an agent in the terminal", formatter_class=formatter
    )
    chat.add_argument("target", metavar="MODULE:ATTR", help=TARGET_HELP)
    chat.set_defaults(handler=_chat)

    run = commands.add_parser(
        "run", help="run an agent once and print its answer", formatter_class=formatter
    )
    run.add_argument("target", metavar="MODULE:ATTR", help=TARGET_HELP)
    run.add_argument("prompt", help="what to ask")
    run.add_argument("--json", action="store_true", help="print the whole RunResult as JSON")
    run.set_defaults(handler=_run)

    record = commands.add_parser(
        "record",
        help="record an agent's exchanges with the configured endpoint into a cassette",
        formatter_class=formatter,
        description="Proxy the endpoint the environment names (AGENTKIT_BASE_URL, Azure "
        "OpenAI or OpenAI) and write every exchange through it to a cassette, without secrets. "
        "With a COMMAND after --, run it pointed at the proxy; else serve until Ctrl-C.",
    )
    record.add_argument("--cassette", required=True, type=Path, help="the cassette file to write")
    record.add_argument("--port", type=int, default=0, help="the proxy's port (0: a free one)")
    record.add_argument(
        "cmd",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND",
        help="a command to run through the proxy",
    )
    record.set_defaults(handler=_record)


def _chat(args: argparse.Namespace) -> int:
    try:
        from rich.console import Console

        from agentkit.terminal.chat import Chat
    except ImportError:
        print("agentkit chat needs rich: pip install 'agentkit-responses[cli]'", file=sys.stderr)
        return 2
    try:
        from agentkit.terminal.target import load_agent

        agent = load_agent(args.target)
    except AgentkitError as error:
        print(f"agentkit chat: {error}", file=sys.stderr)
        return 2
    return Chat(agent, Console()).run()


def _run(args: argparse.Namespace) -> int:
    from agentkit.terminal.run import run_once

    return run_once(args.target, args.prompt, as_json=args.json)


def _record(args: argparse.Namespace) -> int:
    from agentkit.terminal.recording import record

    command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    return record(args.cassette, command, args.port)
