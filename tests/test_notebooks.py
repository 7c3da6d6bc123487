"""The notebooks are docs that are tested: guard what nbval alone would let through."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def code_cells(path: Path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_saved_outputs_hold_no_unexpected_errors(path):
    """A reference saved with a UsageError in it would make nbval compare a failure against a failure."""
    for cell in code_cells(path):
        if "raises-exception" in cell.get("metadata", {}).get("tags", []):
            continue
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", "")) if out["output_type"] == "stream" else ""
            assert out["output_type"] != "error", f"{path.name}: {''.join(cell['source'])[:60]}"
            assert "UsageError" not in text and "Traceback" not in text, f"{path.name}: {text[:200]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_saved_outputs_say_where_answers_came_from(path):
    text = path.read_text()
    assert "%openai offline" in text and "offline server" in text
    assert "sk-" not in text.replace("sk-offline", "").replace("sk-…", "")  # no key, ever


def test_a_broken_magic_fails_the_notebook_run(tmp_path):
    source = ROOT / "notebooks" / "00_quickstart.ipynb"
    notebook = json.loads(source.read_text())
    cell = next(c for c in notebook["cells"] if "".join(c["source"]).startswith("%%chat\n"))
    cell["source"] = "%%chat --temperature 9\n" + "".join(cell["source"]).split("\n", 1)[1]
    broken = tmp_path / "broken.ipynb"
    broken.write_text(json.dumps(notebook))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(broken), "-q", "-p", "no:cacheprovider", "-o", "addopts=",
         "--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(ROOT / "notebooks" / "sanitize.cfg"),
         "--rootdir", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 1, run.stdout[-2000:]
    first_failure = run.stdout.split("FAILURES", 1)[1][:600]
    assert "%%chat --temperature 9" in first_failure and "Cell outputs differ" in first_failure


def test_notebook_04_says_what_the_budget_does(nb, offline):
    """Its text promised every over-budget call refused before sending; a call without --max-tokens is capped."""
    budget = next("".join(c["source"]) for c in json.loads((ROOT / "notebooks" / "04_costs_budget_cache.ipynb")
                  .read_text())["cells"] if "".join(c["source"]).startswith("## A budget"))
    assert "refused before anything is sent" in budget and "capped at N out by the budget" in budget
    nb.run("%openai budget 0.0001")
    capped = nb.run("%%chat --no-stream\nWrite a long essay (offline: 400 tokens)")
    assert capped.error is None and "out by the budget" in capped.result.usage_line
    refused = nb.run("%%chat --no-stream --max-tokens 4000 -m gpt-4o\nWrite a long essay")
    assert refused.error is not None and "budget" in str(refused.error)
    nb.run("%openai budget off")
