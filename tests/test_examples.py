"""The examples, the demo and the docs' code blocks run as a user runs them: offline, clean env.

Each runs in a subprocess with no AGENTKIT_/AZURE_/OPENAI_ variables, so it starts its own
local server; we check its exit status, that it wrote nothing to stderr, and the lines it
printed, in order.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import subprocess
import sys
import types
import warnings
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from agentkit.server import LocalServer

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))
DOCS = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]
TIMEOUT = 120
NOT_RUN = "<!-- not run"  # an HTML comment right before a block: compiled, not run
RUN_BY = re.compile(r"<!-- run by (tests/\S+\.py)")  # run by that test file instead
# The blocks that cannot run offline (an Azure resource, a Temporal cluster, a server the
# service must reach, the process's global tracer): few, and each says why.
MOST_NOT_RUN = 6
# `print(x)  # what it prints`, or that comment on the next line: checked against the output
PRINTS = re.compile(r"^ *print\(.*\)(?:  # (.+)|\n *# (.+))$", re.MULTILINE)
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
# A ```text block right after a python block (a line such as "It prints:" between them at most):
# the lines the block prints, in order
SHOWN = re.compile(r"\A\n*(?:[^\n`]+:\n\n?)?```text\n(.*?)^```", re.MULTILINE | re.DOTALL)
# examples call `local_fallback()`; the two that share one server with processes they start
# (crash_resume.py, temporal_approval.py) serve it themselves (examples/_local.py)
LOCAL = (
    r"\(no endpoint configured: (agentkit's embedded local server answers"
    r"|using agentkit's local server at http://127\.0\.0\.1:\d+/v1)\)"
)
WEATHER = '{"city":"Paris","temperature_c":21,"sky":"sunny"}'
# The answer quoting what mcp-server-time's get_current_time returned for the time zone "ZONE".
TIME_ANSWER = (
    r"assistant: Here is what the tools returned: get_current_time returned "
    r'\{"timezone":"ZONE","datetime":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d",'
    r'"day_of_week":"[A-Z][a-z]+day","is_dst":(true|false)\}\.'
)

# Lines each example must print, in this order (other lines may come between them).
# A `re.Pattern` must match a whole line; a string must equal one.
EXPECTED: dict[str, list[str | re.Pattern[str]]] = {
    "quickstart.py": [
        re.compile(LOCAL),
        "user: What's the weather in Paris?",
        '  tool call: get_weather({"city": "Paris"})',
        f"assistant: Here is what the tools returned: get_weather returned {WEATHER}.",
        "user: What is the status of order 42?",
        '  tool call: order_status({"order_id": 42})',
        "assistant: Here is what the tools returned: order_status returned shipped, arriving "
        "Tuesday.",
        re.compile(r"usage: 4 requests, \d+ input tokens \([1-9]\d* cached\), \d+ output tokens"),
    ],
    "stateless.py": [
        re.compile(LOCAL),
        "user: What's the weather in Paris?",
        "  reasoning: To answer this I will call get_weather.",
        '  tool call: get_weather({"city": "Paris"})',
        "  reasoning: The tool results are in; I will summarise them.",
        f"assistant: Here is what the tools returned: get_weather returned {WEATHER}.",
        "saved conversation: 6 items, 2 with encrypted reasoning",
        "API key in it: False",
        "user: What about the weather in Rome?",
        "  reasoning: To answer this I will call get_weather.",
        '  tool call: get_weather({"city": "Rome"})',
        "assistant: Here is what the tools returned: get_weather returned "
        '{"city":"Rome","temperature_c":21,"sky":"sunny"}.',
    ],
    "structured_output.py": [
        re.compile(LOCAL),
        "Invoice(customer='Acme Corp', amount=1250.5, currency='EUR', paid=True)",
        "Acme Corp: 1250.50 EUR, paid",
    ],
    "streaming.py": [
        re.compile(LOCAL),
        '-> calling get_weather({"city": "Paris"})',
        f"<- get_weather returned {WEATHER}",
        f"Here is what the tools returned: get_weather returned {WEATHER}.",
        re.compile(r"\(2 model calls, \d+ tokens\)"),
    ],
    "background.py": [
        re.compile(LOCAL),
        "[response queued]",
        "[response in_progress]",
        "[code_interpreter_call in_progress]",
        "[code_interpreter_call interpreting]",
        "[code_interpreter_call completed]",
        'Here is what the tools returned: code_interpreter ran the code, which printed "500000500000".',
        "(1 model call)",
        re.compile(r"cancelled: run \w{8}… is cancelled"),
        'resumed: Here is what the tools returned: code_interpreter ran the code, which printed "500000500000".',
    ],
    "crash_resume.py": [
        re.compile(LOCAL),
        "killed the run's process (exit -9) while it booked the hotel",
        "bookings so far:",
        re.compile(r"  flight to Lisbon booked, key trip-42:call_\w+"),
        "resumed run trip-42: Here is what the tools returned: book_flight returned flight to "
        "Lisbon booked; book_hotel returned hotel for 3 nights booked.",
        "bookings now:",
        re.compile(r"  flight to Lisbon booked, key trip-42:call_\w+"),
        re.compile(r"  hotel for 3 nights booked, key trip-42:call_\w+"),
    ],
    "mcp_local.py": [
        re.compile(LOCAL),
        'user: What is the current time in "Europe/Paris"?',
        '  tool call: get_current_time({"timezone": "Europe/Paris"})',
        re.compile(TIME_ANSWER.replace("ZONE", "Europe/Paris")),
        'user: And the current time in "Asia/Tokyo"?',
        '  tool call: get_current_time({"timezone": "Asia/Tokyo"})',
        re.compile(TIME_ANSWER.replace("ZONE", "Asia/Tokyo")),
        "server processes in the block: 1, the same for both runs: True",
        "server processes after the block: 0",
    ],
    "mcp_approval.py": [
        re.compile(LOCAL),
        "paused: True",
        "  waiting for approval: notes.add_note{'text': 'buy milk'}",
        "secret in the saved state: False",
        "assistant: Here is what the tools returned: add_note returned noted: buy milk.",
        "notes: ['buy milk']",
        "assistant: Here is what the tools returned: the MCP tool call was declined (no more "
        "notes today, add_note is off), so it did not run.",
        "notes: ['buy milk']",
    ],
    "temporal_approval.py": [
        re.compile(LOCAL),
        "status: paused",
        "  waiting for approval: send_invoice{'customer': 'Ada', 'amount': 120}",
        "invoices sent so far: []",
        re.compile(
            r"approved call_\w+ from process \d+; assistant: Here is what the tools returned: "
            r"send_invoice returned invoice sent to Ada\."
        ),
        "invoices sent: ['Ada: 120 EUR']",
        'assistant: You said: "Thank you!". Earlier in this conversation you sent 1 message, '
        'starting with "Please send the invoice to Ada for 120 EUR".',
        "API key in the workflow history: False",
    ],
    "triage.py": [
        re.compile(LOCAL),
        "user: A billing question: please lookup invoice 7.",
        "  tool call: transfer_to_billing({})",
        "  handed from triage to billing",
        '  tool call: lookup_invoice({"invoice_id": 7})',
        "billing: Here is what the tools returned: lookup_invoice returned invoice 7: 120 EUR, "
        "paid on 3 March.",
        "user: I want refunds: refund payment of order 42.",
        "paused: refunds waits for approval of refund_payment{'order_id': 42}",
        "refunds: Here is what the tools returned: refund_payment returned refunded order 42.",
    ],
    "research.py": [
        re.compile(LOCAL),
        'user: Ask papers "search papers on Lithium" and market "search reports on Cobalt".',
        "lead: Here is what the tools returned: papers returned Here is what the tools returned: "
        "search_papers returned 3 papers on Lithium.; market returned Here is what the tools "
        "returned: search_reports returned 2 reports on Cobalt..",
        "both researchers searched at the same time: True",
        "model calls: 6 (2 by the lead, 2 by each researcher)",
    ],
    "guardrails.py": [
        re.compile(LOCAL),
        "stopped by no_card_numbers (input): failed",
        "assistant: Here is what the tools returned: refund_payment returned Error: the guardrail "
        "'refund_limit' blocked this call: 900 EUR is above the 500 EUR limit.",
        "assistant: Here is what the tools returned: refund_payment returned refunded 90 EUR of "
        "order 42.",
    ],
    "tracing.py": [
        re.compile(LOCAL),
        re.compile(
            r"span chat gpt-4o \[gen_ai.agent.name=triage, gen_ai.request.model=gpt-4o, "
            r"gen_ai.usage.output_tokens=\d+\]"
        ),
        "span execute_tool transfer_to_billing [gen_ai.agent.name=triage, "
        "gen_ai.tool.name=transfer_to_billing]",
        "span handoff billing [agentkit.handoff.to=billing]",
        "span execute_tool lookup_invoice [gen_ai.agent.name=billing, "
        "gen_ai.tool.name=lookup_invoice]",
        re.compile(
            r"span invoke_agent triage \[gen_ai.agent.name=triage, "
            r"gen_ai.request.model=gpt-4o, gen_ai.usage.output_tokens=\d+\]"
        ),
        "billing: Here is what the tools returned: lookup_invoice returned invoice 7: 120 EUR, paid.",
    ],
    "azure.py": [
        "Run an agent on Azure OpenAI: three environment variables, no code changes.",
        "    export AZURE_OPENAI_ENDPOINT=https://YOUR-RESOURCE.openai.azure.com",
        re.compile(
            r"calling http://127\.0\.0\.1:\d+/openai/v1/responses, deployment 'gpt-4o', api-key"
        ),
        'assistant: You said: "What does Azure OpenAI\'s Responses API do?".',
        re.compile(r"response id: resp_\w+"),
    ],
    "code_interpreter.py": [
        re.compile(LOCAL),
        "assistant: Here is what the tools returned: code_interpreter ran the code, which printed "
        '"saved", and wrote [sales.csv](sandbox:/mnt/data/sales.csv).',
        "assistant: Here is what the tools returned: code_interpreter ran the code, which printed "
        '"3 bars", and wrote [sales.png](sandbox:/mnt/data/sales.png).',
        re.compile(r"container: cntr_\w+, reused by the second run: True"),
        re.compile(r"saved sales\.png \(\d+ bytes\)"),
        "store=False, one container for both runs: True",
    ],
    "images.py": [
        re.compile(LOCAL),
        re.compile(r"uploaded: file-\w+"),
        'assistant: You said: "What is in this image?". You sent an image (PNG, 320x240 pixels).',
        'assistant: You said: "Summarise this PDF". You sent a PDF "report.pdf" (1 page, no '
        "extractable text).",
        'assistant: You said: "Summarise this PDF". You sent a PDF "report.pdf" (1 page, no '
        "extractable text).",
        "assistant: Here is what the tools returned: image_generation made a 1024x1024 PNG image "
        'of "A lighthouse at dusk".',
        re.compile(r"saved lighthouse\.png: 1024x1024 pixels, \d+ bytes"),
    ],
}


def heading(title: str) -> str:
    """A section heading as the demo prints it."""
    return f"== {title} " + "=" * (66 - len(title))


DEMO = [
    heading("Generate a text response"),
    'You said: "This is a test".',
    heading("Function calling"),
    'model called get_weather({"location": "San Francisco"})',
    'Here is what the tools returned: get_weather returned {"temperature": "70 degrees"}.',
    re.compile(r"deleted resp_\w+"),
    heading("agentkit quickstart (examples/quickstart.py)"),
    *EXPECTED["quickstart.py"][1:],
]


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any endpoint or credential, plus `extra`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AGENTKIT_", "AZURE_", "OPENAI_"))
    }
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def run_python(*args: str, env: dict[str, str] | None = None) -> list[str]:
    """Run `python *args` from the repository root; its stdout lines, once it exited cleanly."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert done.stderr == "", done.stderr
    return done.stdout.splitlines()


def assert_lines_in_order(lines: list[str], expected: list[str | re.Pattern[str]]) -> None:
    remaining = iter(lines)
    for want in expected:
        for line in remaining:
            if (line == want) if isinstance(want, str) else want.fullmatch(line):
                break
        else:
            shown = want if isinstance(want, str) else want.pattern
            pytest.fail(f"missing (in order): {shown!r}\n--- output:\n" + "\n".join(lines))


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Future[list[str]]]]:
    """The clean-environment runs, started together up front: they are independent processes."""
    jobs = {
        "demo": ("-m", "agentkit.demo"),
        **{example.name: (str(example),) for example in EXAMPLES},
        **{page.name: (__file__, str(page)) for page in DOCS},
    }
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        yield {name: pool.submit(run_python, *args) for name, args in jobs.items()}


@pytest.fixture
def keyed_server() -> Iterator[LocalServer]:
    """A local server of the test's own, checking an API key like Azure does."""
    with LocalServer(api_key="test-key") as running:
        yield running


def test_every_example_is_checked() -> None:
    assert [p.name for p in EXAMPLES] == sorted(EXPECTED)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_example_runs_offline(example: Path, runs: dict[str, Future[list[str]]]) -> None:
    assert_lines_in_order(runs[example.name].result(), EXPECTED[example.name])


def test_demo_runs_the_samples_then_the_quickstart(runs: dict[str, Future[list[str]]]) -> None:
    lines = runs["demo"].result()
    assert lines[0].startswith("(no credentials set: using the local server at http://127.0.0.1:")
    assert_lines_in_order(lines, DEMO)
    assert not any(line.startswith("(no endpoint configured") for line in lines), (
        "the quickstart should reuse the demo's server, not start its own"
    )


def test_examples_use_a_configured_endpoint(keyed_server: LocalServer) -> None:
    env = clean_env(AGENTKIT_BASE_URL=keyed_server.base_url, AGENTKIT_API_KEY="test-key")
    lines = run_python("examples/quickstart.py", env=env)
    assert_lines_in_order(lines, EXPECTED["quickstart.py"][1:])
    assert not any(line.startswith("(no endpoint configured") for line in lines)
    assert [body["model"] for body in keyed_server.requests] == ["gpt-4o"] * 4


def test_azure_example_on_a_configured_azure_endpoint(keyed_server: LocalServer) -> None:
    env = clean_env(
        AZURE_OPENAI_ENDPOINT=keyed_server.url + "/",
        AZURE_OPENAI_API_KEY="test-key",
        AZURE_OPENAI_DEPLOYMENT="my-gpt-4o",
    )
    lines = run_python("examples/azure.py", env=env)
    assert (
        lines[0]
        == f"calling {keyed_server.url}/openai/v1/responses, deployment 'my-gpt-4o', api-key"
    )
    assert lines[1] == 'assistant: You said: "What does Azure OpenAI\'s Responses API do?".'
    assert len(lines) == 3
    assert [body["model"] for body in keyed_server.requests] == ["my-gpt-4o"]


# --- the docs' code blocks ---------------------------------------------------------------------


def python_blocks(markdown: str) -> list[tuple[int, str, bool, list[str]]]:
    """Each ```python block: its first line number, its source, whether it is to be run, and
    the lines a ```text block after it shows it prints."""
    blocks = []
    for match in FENCE.finditer(markdown):
        before = markdown[: match.start()].rstrip().rsplit("\n", 1)[-1]
        line = markdown.count("\n", 0, match.start()) + 2
        shown = SHOWN.match(markdown[match.end() :])
        lines = shown.group(1).splitlines() if shown else []
        run = not (before.startswith(NOT_RUN) or RUN_BY.match(before))
        blocks.append((line, match.group(1), run, lines))
    return blocks


def run_doc(path: Path) -> None:
    """Run a page's blocks in order, in one module, against a local server; each block is a
    script as a user pastes it (no top-level `await`)."""
    warnings.simplefilter("error")  # a page that shows a warning catches it
    logging.basicConfig(stream=sys.stdout, format="%(levelname)s %(name)s: %(message)s")
    module = types.ModuleType("doc")
    sys.modules["doc"] = module
    with LocalServer() as server:
        os.environ["AGENTKIT_BASE_URL"] = server.base_url
        for line, source, run, shown_lines in python_blocks(path.read_text()):
            code = compile(source, f"{path.name}:{line}", "exec", dont_inherit=True)
            if not run:
                continue
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(code, module.__dict__)
            print(printed.getvalue(), end="")
            lines = printed.getvalue().splitlines()
            for inline, below in PRINTS.findall(source):
                shown = inline or below
                assert shown in lines, f"{path.name}:{line}: {shown!r}"
            assert_lines_in_order(lines, list(shown_lines))


@pytest.mark.parametrize("page", DOCS, ids=lambda path: path.name)
def test_doc_code_blocks_run(page: Path, runs: dict[str, Future[list[str]]]) -> None:
    runs[page.name].result()  # exit status 0, nothing on stderr, and each shown print checked


def run_elsewhere(name: str, markdown: str) -> set[str]:
    """The blocks of a page that a named test file runs (it must read the page)."""
    found = set()
    for match in FENCE.finditer(markdown):
        before = markdown[: match.start()].rstrip().rsplit("\n", 1)[-1]
        if by := RUN_BY.match(before):
            assert f"docs/{name}" in (ROOT / by[1]).read_text(), (name, by[1])
            found.add(f"{name}:{markdown.count(chr(10), 0, match.start()) + 2}")
    return found


def test_few_doc_blocks_are_left_unrun() -> None:
    markdown = {page: page.read_text() for page in DOCS}
    unrun = [
        f"{page.name}:{line}"
        for page, text in markdown.items()
        for line, _, run, _ in python_blocks(text)
        if not run and f"{page.name}:{line}" not in run_elsewhere(page.name, text)
    ]
    assert len(unrun) <= MOST_NOT_RUN, unrun
    reasons = re.findall(r"^<!-- not run(.*)-->$", "\n".join(markdown.values()), re.MULTILINE)
    assert all(reason.startswith(": ") for reason in reasons), reasons  # each says why


if __name__ == "__main__":
    run_doc(Path(sys.argv[1]))
