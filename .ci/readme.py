"""Print a command from README.md, found by the `<!-- command: NAME -->` comment above its block.

CI and tests/test_readme.py run the README's commands through this, so what they run is what it prints.
"""
import re
import sys
from pathlib import Path


def command(name: str, readme: Path = Path(__file__).resolve().parent.parent / "README.md") -> str:
    marked = re.search(rf"<!-- command: {re.escape(name)} -->\n```\w*\n(.*?)\n```", readme.read_text(), re.S)
    if marked is None:
        raise SystemExit(f"{readme} has no block marked <!-- command: {name} -->")
    return marked.group(1)


if __name__ == "__main__":
    print(command(sys.argv[1]))
