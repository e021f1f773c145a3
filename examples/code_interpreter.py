"""Code interpreter: the model runs Python in a container that the conversation keeps.

Run it: `python examples/code_interpreter.py`
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from agentkit import Agent, CodeInterpreter, RunResult, local_fallback

# The local server runs the ```python blocks a message brings; a real model writes its own code.
WRITE_CSV = """Save these sales as a CSV:
```python
with open("sales.csv", "w") as f:
    f.write("month,units\\nJan,12\\nFeb,30\\nMar,21\\n")
print("saved")
```"""
PLOT_CSV = """Chart the CSV you saved:
```python
import csv
from PIL import Image, ImageDraw

rows = list(csv.DictReader(open("sales.csv")))
chart = Image.new("RGB", (300, 200), "white")
draw = ImageDraw.Draw(chart)
for i, row in enumerate(rows):
    draw.rectangle((40 + 80 * i, 190 - 5 * int(row["units"]), 90 + 80 * i, 190), fill="teal")
chart.save("sales.png")
print(len(rows), "bars")
```"""

agent = Agent(model="gpt-4.1", tools=[CodeInterpreter()])


def containers(result: RunResult[str]) -> set[str]:
    """The containers the run's code ran in."""
    return {i["container_id"] for i in result.new_items if i["type"] == "code_interpreter_call"}


def main() -> None:
    first = agent.run_sync(WRITE_CSV)
    print("assistant:", first.output)
    # Continuing the conversation runs in the same container: sales.csv is still there.
    second = agent.run_sync(PLOT_CSV, conversation=first.conversation)
    print("assistant:", second.output)
    [container] = containers(first)
    print(f"container: {container}, reused by the second run: {containers(second) == {container}}")

    folder = Path(tempfile.mkdtemp())
    for file in second.files:
        saved = file.save_sync(folder)
        print(f"saved {saved.name} ({saved.stat().st_size} bytes)")

    # With store=False the service keeps nothing: the agent names the container in each request.
    stateless = agent.clone(store=False)
    one = stateless.run_sync(WRITE_CSV)
    two = stateless.run_sync(PLOT_CSV, conversation=one.conversation)
    print("store=False, one container for both runs:", containers(one) == containers(two))


if __name__ == "__main__":
    if local_fallback():
        print("(no endpoint configured: agentkit's embedded local server answers)")
    main()
