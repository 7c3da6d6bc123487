"""`openai-magics run` on a file that is not a notebook, and under Ctrl-C: one line, exit non-zero, no traceback."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from conftest import ROOT
from tests.test_cli import notebook, run

NOT_NOTEBOOKS = {
    "not-json": (b"this is { not json", "is not a notebook: not JSON"),
    "empty-file": (b"", "is not a notebook: not JSON"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00", "is not a notebook: not JSON"),
    "package-json": (b'{"name": "package", "version": 1}', "is JSON, but not a Jupyter notebook"),
    "json-list": (b"[1, 2, 3]", "is JSON, but not a Jupyter notebook (a list, not an object)"),
    "json-string": (b'"hello"', "is JSON, but not a Jupyter notebook (a str"),
    "cells-not-a-list": (b'{"cells": 5, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
                         "is JSON, but not a Jupyter notebook"),
    "cell-without-source": (b'{"cells": [{"cell_type": "code"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
                            "is JSON, but not a Jupyter notebook"),
}


@pytest.mark.parametrize("kind", list(NOT_NOTEBOOKS))
def test_run_on_a_file_that_is_not_a_notebook_is_one_line_and_exits_non_zero(tmp_path, kind):
    data, says = NOT_NOTEBOOKS[kind]
    path = tmp_path / "lesson.ipynb"
    path.write_bytes(data)
    done = run("run", str(path), "--offline")
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and str(path) in lines[0], done.stderr[-2000:]


def test_ctrl_c_during_a_run_is_one_line_and_exits_130(tmp_path):
    path = notebook(tmp_path / "slow.ipynb", "print('first')", "import time\ntime.sleep(60)", "print('never')")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # As a terminal does: Ctrl-C interrupts the command's whole process group (its kernel too).
    process = subprocess.Popen([sys.executable, "-m", "openai_magics.cli", "run", str(path)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen = ""
    try:
        for line in process.stdout:  # cell 1 is printed once it ran: cell 2 is sleeping now
            seen += line
            if line.strip() == "first":
                break
        os.killpg(process.pid, signal.SIGINT)
        rest, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err[-3000:]
    assert err.strip() == f"openai-magics: interrupted during cell 2; the rest of {path} was not run."
    assert "never" not in seen + rest and "Traceback" not in seen + rest + err
