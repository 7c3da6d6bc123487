"""The README's commands, exactly as printed, work from a fresh clone; and what it promises a newcomer holds."""
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

NESTED = "OPENAI_MAGICS_README_RUN"  # set inside the clone's run, so that it does not clone again


def readme_command(clone, name: str) -> str:
    done = subprocess.run([sys.executable, str(clone / ".ci" / "readme.py"), name], capture_output=True,
                          text=True, check=True)
    return done.stdout.rstrip("\n")


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="slow (a fresh venv and the suite again): CI=true only")
@pytest.mark.skipif(bool(os.environ.get(NESTED)), reason="this is the README run inside a fresh clone")
@pytest.mark.timeout(3600)
def test_a_fresh_clone_installs_tests_and_runs_the_quickstart_as_the_readme_says(tmp_path):
    (tmp_path / "shared").symlink_to((ROOT / ".." / "shared").resolve())  # `../shared` beside the clone, as here
    clone = tmp_path / "openai-magics"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    commands = [readme_command(clone, name) for name in ("install", "encodings", "test", "main-job")]
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "TIKTOKEN_CACHE_DIR")}
    env[NESTED] = "1"
    # The test command runs as printed, on one file: CI's own run (`.ci/run`) is the whole suite through the
    # same command in a fresh clone, and running it twice would double CI's time.
    env["PYTEST_ADDOPTS"] = "tests/test_foundation.py"
    done = subprocess.run(["bash", "-euc", "\n".join(commands)], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=3500)
    tail = done.stdout[-4000:] + done.stderr[-2000:]
    assert done.returncode == 0, tail
    summary = next(line for line in done.stdout.splitlines()[::-1] if " passed" in line)
    assert "failed" not in summary and "error" not in summary, summary
    assert "### Offline answer" in done.stdout and "Total: 3 calls · " in done.stdout, tail


def test_counts_are_exact_without_network_or_tiktoken_cache_dir_and_match_tiktokens(tmp_path):
    """A fresh machine: no TIKTOKEN_CACHE_DIR, an empty temporary folder (where tiktoken looks), no network.
    The package's own copy of each encoding is put there, and the counts are tiktoken's, token for token."""
    texts = ["Explain a p-value to a first-year student in three sentences.", "naïve café 🎉 — ünïcödé ½",
             "def f(x):\n    return x ** 2  # squares", "東京は日本の首都です。", " " * 7 + "\t\n" * 3]
    code = ("import json, sys\nfrom openai_magics.facts.tokens import count_text\n"
            f"print(json.dumps([[str(count_text(t, m)) for t in {texts!r}] for m in ('gpt-4o-mini', 'gpt-4')]))")
    env = {k: v for k, v in os.environ.items() if k not in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR")}
    env.update(TMPDIR=str(tmp_path), PYTHONPATH=str(ROOT), HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    import json

    import tiktoken

    expected = [[str(len(tiktoken.get_encoding(name).encode(t))) for t in texts] for name in ("o200k_base", "cl100k_base")]
    assert json.loads(fresh.stdout) == expected  # exact (no "≈"), and the same numbers
    folder = tmp_path / "data-gym-cache"
    kept = sorted(path.name.split(".")[1] for path in folder.glob("*.marshal"))
    assert kept == ["cl100k_base", "o200k_base"] and len(list(folder.iterdir())) == 4  # tiktoken's files, parsed
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(again.stdout) == expected  # read back from the parsed form: the same counts
    for path in folder.glob("*.marshal"):
        path.write_bytes(b"not a parsed encoding")
    spoilt = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(spoilt.stdout) == expected  # a spoilt parsed form: tiktoken parses its file again


def test_a_relative_encodings_folder_that_points_nowhere_says_so(nb, monkeypatch):
    """What a newcomer who exported a relative TIKTOKEN_CACHE_DIR sees in a kernel started elsewhere."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "../nowhere/tiktoken")
    shown = str(nb.run("%tokens -m gpt-4o-mini How many tokens").result)
    assert "≈" in shown and "TIKTOKEN_CACHE_DIR=../nowhere/tiktoken is a relative path" in shown
    assert "export it as an absolute path" in shown


SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}


def readme_code_blocks() -> list[tuple[str, str]]:
    """(language, code) of every fenced block in README.md, as printed."""
    text = (ROOT / "README.md").read_text()
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)\n```$", text, re.S | re.M)]


@pytest.mark.timeout(180)
def test_every_python_block_of_the_readme_runs_when_pasted_into_a_notebook(monkeypatch):
    """What a newcomer does first: paste each block into a cell of a fresh kernel, no key, and run all."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    pasted = [code for language, code in readme_code_blocks() if language not in SHELL_LANGUAGES]
    assert len(pasted) >= 2 and pasted[0].startswith("%load_ext openai_magics\n%openai offline  ")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in pasted])
    NotebookClient(notebook, timeout=60, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    for cell in notebook.cells:
        errors = [o for o in cell.outputs if o["output_type"] == "error"]
        assert not errors, f"{cell.source!r}: {errors[0]['ename']}: {errors[0]['evalue']}"
        shown = "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream")
        assert "UsageError" not in shown and "No API key" not in shown, shown
    answer = notebook.cells[1].outputs[-1]["data"]
    assert "offline" in answer["text/markdown"].lower() and "gpt-4o-mini" in answer["text/plain"]


def test_every_estimated_count_says_why_in_one_line(nb, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "../nowhere/tiktoken")
    why = "estimated: TIKTOKEN_CACHE_DIR=../nowhere/tiktoken is a relative path"
    dry = nb.run("%%chat --dry-run -m gpt-4o-mini\nHow many tokens")
    assert "≈" in dry.result.summary and why in dry.result.summary
    nb.ns["examples"] = [{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}]
    prepared = nb.run("%openai finetune prepare examples")
    assert "≈" in prepared.text and why in prepared.text
