"""`agentkit chat` in a real pseudo-terminal: streamed text, tool calls and their results, a y/n
approval, dimmed reasoning, a spinner for background work, /save and /load."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from agentkit.server import LocalServer
from agentkit.testing import ScriptedClient, call, say, think

HERE = Path(__file__).resolve().parent

DIM_TEXT = r"\x1b\[2;3m(.*?)\x1b\[0m"  # what rich prints "dim italic"
PROMPT = "you>"


class Terminal:
    """`agentkit chat TARGET` under pexpect, with everything it printed kept (ANSI included)."""

    def __init__(self, target: str, env: dict[str, str]) -> None:
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "agentkit.cli", "chat", target],
            cwd=str(HERE),
            env={**env, "TERM": "xterm-256color"},
            encoding="utf-8",
            timeout=60,
            dimensions=(50, 120),
        )
        self.seen = ""

    def expect(self, pattern: str) -> str:
        """Wait for `pattern` (a regex); what was printed before it."""
        self.child.expect(pattern)
        before = str(self.child.before) + str(self.child.after)
        self.seen += before
        return before

    def say(self, line: str) -> str:
        """Type `line` at the prompt; what the chat printed until its next prompt."""
        self.child.sendline(line)
        return self.expect(PROMPT)

    def close(self) -> int:
        self.child.sendline("/exit")
        self.child.expect(pexpect.EOF)
        self.child.close()
        return int(self.child.exitstatus or 0)


@pytest.fixture
def chat(shell_env: dict[str, str]) -> Iterator[Terminal]:
    terminal = Terminal("chat_agent:agent", shell_env)
    terminal.expect(PROMPT)
    yield terminal
    if terminal.child.isalive():
        terminal.child.terminate(force=True)


def plain(text: str) -> str:
    """What a person reads: no escape sequences, no carriage returns."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "")


def test_a_tool_call_and_an_approval(
    chat: Terminal, script: ScriptedClient, tmp_path: Path
) -> None:
    script.queue(
        [think("The user wants the weather."), call("get_weather", city="Paris")],
        say("It is 21 C in Paris."),
        call("delete_file", path="/tmp/old.txt"),
        say("Deleted it."),
    )

    weather = chat.say("What's the weather in Paris?")
    lines = plain(weather).splitlines()
    assert "thinking: The user wants the weather." in lines
    dimmed = "".join(re.findall(DIM_TEXT, weather))
    assert dimmed.startswith("thinking: The user wants the weather.")  # the summary is dimmed
    assert '→ get_weather({"city": "Paris"})' in lines
    assert '← get_weather: {"city":"Paris","temperature_c":21}' in lines
    assert "assistant> It is 21 C in Paris." in lines

    chat.child.sendline("Delete /tmp/old.txt, please")
    asked = plain(chat.expect(r"\[y/n\]"))
    assert 'Approve delete_file({"path": "/tmp/old.txt"})? [y/n]' in asked
    answered = plain(chat.say("y")).splitlines()
    assert "  approved: delete_file" in answered
    assert "← delete_file: deleted /tmp/old.txt" in answered
    assert "assistant> Deleted it." in answered

    saved = tmp_path / "conversation.json"
    # user, reasoning, call, output, reasoning, answer; twice
    assert f"saved 12 items to {saved}" in plain(chat.say(f"/save {saved}"))
    assert chat.close() == 0

    items = json.loads(saved.read_text())["items"]
    outputs = [i["output"] for i in items if i["type"] == "function_call_output"]
    assert outputs == ['{"city":"Paris","temperature_c":21}', "deleted /tmp/old.txt"]
    sent = script.requests()
    assert len(sent) == 4
    [delete_call] = [i for i in items if i.get("name") == "delete_file"]
    assert sent[-1]["input"] == [
        {"type": "function_call_output", "call_id": delete_call["call_id"], "output": outputs[1]}
    ]


def test_a_rejected_approval_tells_the_model(chat: Terminal, script: ScriptedClient) -> None:
    script.queue(call("delete_file", path="/etc/passwd"), say("Understood, I left it."))

    chat.child.sendline("Delete /etc/passwd")
    chat.expect(r"\[y/n\]")
    answered = plain(chat.say("n")).splitlines()

    assert "  rejected: delete_file" in answered
    assert "assistant> Understood, I left it." in answered
    [declined] = script.requests()[-1]["input"]
    assert declined["type"] == "function_call_output"
    assert "declined" in declined["output"]
    assert not any(line.startswith("← delete_file") for line in answered)


def test_save_and_load_continue_a_conversation(
    chat: Terminal, script: ScriptedClient, tmp_path: Path, shell_env: dict[str, str]
) -> None:
    script.queue(say("Nice to meet you, Ada."), say("Your name is Ada."))
    chat.say("My name is Ada.")
    saved = tmp_path / "ada.json"
    chat.say(f"/save {saved}")
    assert chat.close() == 0

    again = Terminal("chat_agent:agent", shell_env)
    again.expect(PROMPT)
    assert f"loaded 3 items from {saved}" in plain(again.say(f"/load {saved}"))
    assert "assistant> Your name is Ada." in plain(again.say("What is my name?"))
    assert again.close() == 0

    first, second = script.requests()
    assert second["previous_response_id"] == json.loads(saved.read_text())["last_response_id"]
    assert first["input"][0]["content"][0]["text"] == "My name is Ada."


def test_a_bad_file_to_load_is_reported_and_the_chat_goes_on(
    chat: Terminal, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")

    printed = plain(chat.say(f"/load {broken}"))

    assert f"could not load {broken}: Conversation JSON could not be parsed" in printed
    assert chat.close() == 0


def test_background_work_shows_a_progress_indicator(
    shell_env: dict[str, str], script: ScriptedClient
) -> None:
    script.queue([{"type": "queued", "seconds": 1.5}, {"type": "message", "text": "Ready."}])
    terminal = Terminal("chat_agent:background_agent", shell_env)
    terminal.expect(PROMPT)

    printed = terminal.say("Take your time.")

    assert "background response queued…" in plain(printed)
    assert "\x1b[?25l" in printed  # the spinner hides the cursor while it turns
    assert "assistant> Ready." in plain(printed).splitlines()
    assert terminal.close() == 0


def test_an_error_is_shown_and_the_chat_goes_on(chat: Terminal, script: ScriptedClient) -> None:
    printed = plain(chat.say("Hello?"))  # nothing queued: the server answers 400

    assert "error: The model call failed:" in printed
    assert "no queued output" in printed
    script.queue(say("Hello!"))
    assert "assistant> Hello!" in plain(chat.say("Hello again"))
    assert chat.close() == 0


def test_a_target_that_is_not_an_agent(shell_env: dict[str, str]) -> None:
    terminal = Terminal("chat_agent:not_an_agent", shell_env)
    terminal.child.expect(pexpect.EOF)
    terminal.child.close()

    assert "chat_agent:not_an_agent is a int, not an agentkit Agent" in plain(
        str(terminal.child.before)
    )
    assert terminal.child.exitstatus == 2


def test_the_server_fixture_is_a_real_server(scripted_server: LocalServer) -> None:
    """The chat tests would pass vacuously against a server that took nothing."""
    assert scripted_server.scripted.pending() == {}
