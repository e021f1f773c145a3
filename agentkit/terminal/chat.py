"""`agentkit chat MODULE:ATTR`: talk to an agent in the terminal; approvals are y/n prompts and
the conversation saves to and loads from JSON (`/save PATH`, `/load PATH`)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.prompt import Confirm
from rich.text import Text

from agentkit.agent import Agent
from agentkit.errors import AgentkitError
from agentkit.run.conversation import Conversation
from agentkit.run.events import FinalResult
from agentkit.run.result import RunResult
from agentkit.run.state import RunState
from agentkit.terminal.view import EventView, describe

__all__ = ["Chat"]

HELP = """commands: /save PATH  /load PATH  /new (forget the conversation)  /help  /exit
Ctrl-C stops a reply; Ctrl-D or /exit leaves."""
DECLINED = "The user declined in the chat."


class Chat:
    """One chat session with `agent`, on one event loop for its whole life."""

    def __init__(self, agent: Agent[Any], console: Console) -> None:
        self.agent = agent
        self.console = console
        self.view = EventView(console)
        self.conversation = Conversation()

    def run(self) -> int:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing and history for input())
        self.console.print(f"[bold]agentkit chat[/] with {self.agent.model}. {HELP}")
        with asyncio.Runner() as runner:
            try:
                runner.run(self.agent.__aenter__())  # connects its MCP servers once
            except AgentkitError as error:
                self.console.print(Text.assemble(("error: ", "bold red"), str(error)))
                return 1
            try:
                while (line := self._read()) is not None:
                    if line.startswith("/"):
                        if not self.command(line, runner):
                            break
                    elif line.strip():
                        self.turn(runner, line)
            finally:
                runner.run(self.agent.__aexit__(None, None, None))
        return 0

    def _read(self) -> str | None:
        try:
            return self.console.input("[bold green]you>[/] ")
        except (EOFError, KeyboardInterrupt):
            self.console.print()
            return None

    def turn(self, runner: asyncio.Runner, text: str) -> None:
        """Run the agent on `text`, asking for approvals until it answers."""
        request: str | RunState = text
        while True:
            try:
                result = runner.run(self._stream(request))
            except KeyboardInterrupt:
                self.view.end()
                self.console.print("[yellow](stopped)[/]")
                return
            except AgentkitError as error:
                self.view.end()
                self.console.print(
                    Text.assemble(("error: ", "bold red"), str(error)), soft_wrap=True
                )
                return
            self.view.end()
            self.conversation = result.conversation
            if not result.paused:
                return
            request = self._decide(result)

    async def _stream(self, request: str | RunState) -> RunResult[Any]:
        conversation = None if isinstance(request, RunState) else self.conversation
        async for event in self.agent.stream(request, conversation=conversation):
            self.view.show(event)
            if isinstance(event, FinalResult):
                return event.result
        raise AssertionError("a run's stream ends with its FinalResult")

    def _decide(self, result: RunResult[Any]) -> RunState:
        state = result.state
        for pending in result.pending_approvals:
            question = f"[yellow]Approve {describe(pending)}?[/]"
            if Confirm.ask(question, console=self.console, default=False):
                state.approve(pending.id)
            else:
                state.reject(pending.id, DECLINED)
        return state

    def command(self, line: str, runner: asyncio.Runner) -> bool:
        """Carry out a /command; False to leave the chat."""
        name, _, argument = line.strip().partition(" ")
        argument = argument.strip()
        if name in ("/exit", "/quit"):
            return False
        if name == "/new":
            self.conversation = Conversation()
            self.console.print("(a new conversation)")
        elif name in ("/save", "/load") and not argument:
            self.console.print(f"[red]{name} needs a file name[/]")
        elif name == "/save":
            Path(argument).write_text(self.conversation.to_json(), encoding="utf-8")
            items = len(self.conversation.items)
            self.console.print(f"saved {items} items to {argument}", highlight=False)
        elif name == "/load":
            self._load(Path(argument))
        else:
            self.console.print(HELP, highlight=False)
        return True

    def _load(self, path: Path) -> None:
        try:
            self.conversation = Conversation.from_json(path.read_bytes())
        except (OSError, AgentkitError) as error:
            self.console.print(Text(f"could not load {path}: {error}", style="red"), soft_wrap=True)
            return
        items = len(self.conversation.items)
        self.console.print(f"loaded {items} items from {path}", highlight=False)
