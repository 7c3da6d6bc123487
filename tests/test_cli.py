"""`openai-magics run NOTEBOOK`: a notebook executed in a terminal, each cell's text shown, then the totals."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT


def run(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "openai_magics.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=240)


def notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(c[3:]) if c.startswith("md:") else nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(nb, path)
    return path


def test_the_quickstart_offline_prints_answers_usage_lines_and_totals():
    done = run("run", "notebooks/00_quickstart.ipynb", "--offline")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    assert "%%chat\nWhat is a p-value? Answer for a first-year student." in out  # each cell's source
    assert out.count("### Offline answer") == 2 and "You asked: *What is a p-value?" in out
    assert re.search(r"gpt-5\.4-nano(-[\d-]+)? · 20 in · 158 out \(64 reasoning\) · \$0\.00020 · ", out)  # the default
    assert re.search(r"gpt-4o-2024-08-06 · 28 in · 95 out · \$0\.0010 · ", out)
    assert "6 tokens (gpt-4o-mini)" in out
    assert out.rstrip().splitlines()[-1] == "Total: 3 calls · 63 in · 406 out · $0.0014 · 0 cache hits"
    assert "Traceback" not in out + done.stderr and "<sub" not in out


def test_a_failing_cell_stops_the_run_names_the_cell_and_exits_non_zero(tmp_path):
    path = notebook(tmp_path / "lesson.ipynb", "%load_ext openai_magics", "md:No `%openai offline` here.",
                    "%%chat\nhi", "%openai budget", "%%chat --temperature 9\nhi", "print('not reached')")
    done = run("run", str(path), "--offline", "--budget", "0.50")
    assert done.returncode == 1
    out = done.stdout
    assert "You asked: *hi*" in out  # --offline: answered although the notebook never says so
    assert "budget: $0.50" in out
    assert "UsageError: --temperature must be between 0 and 2" in out and "not reached" not in out
    assert "Total: 1 call · 8 in · " in out
    assert out.rstrip().endswith("lesson.ipynb: cell 5 failed (%%chat --temperature 9)")


def test_replay_answers_from_the_file_as_cache_hits(tmp_path):
    path = notebook(tmp_path / "replayed.ipynb", "%load_ext openai_magics",
                    "%%chat\nExplain overfitting to a first-year student in three sentences.")
    shutil.copy(ROOT / "notebooks" / "05_teaching_setup.cache.db", tmp_path / "answers.db")
    done = run("run", str(path), "--offline", "--replay", "answers.db", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "$0 (cached)" in done.stdout
    assert done.stdout.rstrip().endswith("· $0 · 1 cache hit")


def test_bad_arguments_are_one_line():
    done = run("run", "notebooks/nope.ipynb")
    assert done.returncode == 2 and "no notebook at notebooks/nope.ipynb" in done.stderr
    done = run("run", "notebooks/00_quickstart.ipynb", "--budget", "lots")
    assert done.returncode == 2 and "an amount in USD" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.skipif(not (Path(sys.executable).parent / "openai-magics").exists(),
                    reason="the openai-magics console script is not installed in this environment")
def test_the_console_script_is_installed():
    done = subprocess.run([str(Path(sys.executable).parent / "openai-magics"), "run", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--offline" in done.stdout and "--replay" in done.stdout


def test_a_notebook_is_read_without_building_jsonschemas_iri_grammars(tmp_path):
    """nbformat imports jsonschema, which builds the grammars of its `format: iri` checker as it is imported when
    rfc3987-syntax is installed (1-2 s of every `openai-magics run`): the notebook is read without them."""
    path = notebook(tmp_path / "lesson.ipynb", "print(1)")
    code = ("import sys\nfrom pathlib import Path\nfrom openai_magics.cli.run import read_notebook\n"
            f"print(len(read_notebook(Path({str(path)!r})).cells), 'rfc3987_syntax' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    assert done.stdout.split() == ["1", "False"]
