"""Execute a notebook with nbclient and print what each cell showed, as text, then the session's totals."""
from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

OFFLINE_ENV, BUDGET_ENV, REPLAY_ENV = "OPENAI_MAGICS_OFFLINE", "OPENAI_MAGICS_BUDGET", "OPENAI_MAGICS_REPLAY"
TOTALS_CODE = "from openai_magics.cli.totals import print_totals; print_totals()"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TAG = re.compile(r"<[^>]+>")
RULE = "─" * 72


def run_notebook(path: Path, *, offline: bool = False, replay: Path | None = None, budget: Decimal | None = None,
                 out=None) -> int:
    """0 when every cell ran; 1 (after naming the cell) when one failed."""
    out = out or sys.stdout
    notebook = read_notebook(path)  # a file that is no notebook is said before a kernel or its client is loaded
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    _kernel_environment(offline, replay, budget)
    client = NotebookClient(notebook, km=_this_python_kernel(), timeout=600,
                            resources={"metadata": {"path": str(path.resolve().parent)}})
    if offline:
        print("Answers come from the bundled offline server (--offline), not from OpenAI.", file=out)
    try:
        with client.setup_kernel(stderr=subprocess.DEVNULL):  # the kernel's own log lines, not the cells' stderr
            failed = _run_cells(client, notebook, out)
            notebook.cells.append(nbformat.v4.new_code_cell(TOTALS_CODE))
            totals = client.execute_cell(notebook.cells[-1], len(notebook.cells) - 1, store_history=False)
    except DeadKernelError:
        print(f"{RULE}\n{path}: the kernel died", file=out)
        return 1
    print(f"{RULE}\n{_text(totals.outputs).strip()}", file=out)
    if failed is not None:
        source = notebook.cells[failed].source
        print(f"{path}: cell {failed + 1} failed ({source.splitlines()[0] if source else ''})", file=out)
        return 1
    return 0


class NotANotebook(ValueError):
    """The file is not JSON, or JSON that is not a Jupyter notebook; the message is the one line to show."""


class Stopped(KeyboardInterrupt):
    """Ctrl-C during a run: `cell` is the number of the cell that was running (None: before or after the cells)."""

    def __init__(self, cell: int | None):
        super().__init__(cell)
        self.cell = cell


def read_notebook(path: Path):
    """The notebook in `path`, checked before a kernel starts; NotANotebook when it is not one."""
    import json

    from openai_magics.wire.sdk import jsonschema_module

    jsonschema_module()  # first: nbformat's own import of jsonschema would build its IRI grammars (1-2 s here)
    import nbformat

    try:
        text = path.read_text(encoding="utf-8")
        value = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotANotebook(f"{path} is not a notebook: not JSON ({_first_line(exc)}).") from None
    if not isinstance(value, dict):
        raise NotANotebook(f"{path} is JSON, but not a Jupyter notebook (a {type(value).__name__}, not an object).")
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except Exception as exc:  # nbformat says "not a notebook" in many ways (ValidationError, KeyError, AttributeError…)
        raise NotANotebook(f"{path} is JSON, but not a Jupyter notebook ({_first_line(exc)}).") from None
    return notebook


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0][:160] if text else "") or type(exc).__name__


def _run_cells(client, notebook, out) -> int | None:
    """Run the code cells in order, printing each; the index of the one that failed, if one did."""
    from nbclient.exceptions import CellExecutionError

    ran = 0  # the cells before this position have run
    try:
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index)
            except CellExecutionError:
                _print_cell(cell, index, out)
                return index
            ran = index + 1
            _print_cell(cell, index, out)
    except KeyboardInterrupt:  # while a cell runs, or between two: the first cell that did not run is named
        following = [i + 1 for i, c in enumerate(notebook.cells) if i >= ran and c.cell_type == "code"]
        raise Stopped(following[0] if following else None) from None
    return None


def _kernel_environment(offline: bool, replay: Path | None, budget: Decimal | None) -> None:
    """What the kernel inherits: the extension reads these when it loads."""
    if offline:
        os.environ[OFFLINE_ENV] = "1"
    if replay is not None:
        os.environ[REPLAY_ENV] = str(replay.resolve())
    if budget is not None:
        os.environ[BUDGET_ENV] = str(budget)
    # The kernel runs in the notebook's folder: a relative encodings folder would point nowhere there.
    for name in ("TIKTOKEN_CACHE_DIR", "OPENAI_MAGICS_CACHE"):
        if os.environ.get(name):
            os.environ[name] = os.path.abspath(os.environ[name])


def _this_python_kernel():
    """A kernel of the Python running this command (the one openai-magics is installed in)."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                              display_name="Python", language="python")

    return KernelManager(kernel_spec_manager=ThisPython(), kernel_name="this-python")


def _print_cell(cell, index: int, out) -> None:
    print(f"{RULE}\ncell {index + 1}", file=out)
    print(cell.source.rstrip(), file=out)
    shown = _text(cell.outputs).rstrip()
    if shown:
        print(f"\n{shown}", file=out)
    out.flush()  # cell by cell, also into a pipe (a CI log)


def _text(outputs) -> str:
    """What a terminal can show of the outputs: streams, text/plain of results, errors as their lines."""
    parts = []
    for output in outputs:
        kind = output.output_type
        if kind == "stream":
            parts.append(output.text)
        elif kind in ("execute_result", "display_data"):
            text = _plain(output.get("data", {}))
            if text.strip():
                parts.append(text if text.endswith("\n") else text + "\n")
        elif kind == "error":
            parts.append("\n".join(output.traceback) + "\n")
    return _ANSI.sub("", "".join(parts))


def _plain(data: dict) -> str:
    """Markdown as its source (all of an answer, where text/plain is only its start), else text/plain."""
    if "text/markdown" in data:
        return html.unescape(_TAG.sub("", data["text/markdown"]))
    return data.get("text/plain", "")
