"""Which notebook cell is running: its execution count and the id the frontend gives it.

Ledger rows and thread turns are keyed by it, so re-running a cell is recognised as the same cell.
"""
from __future__ import annotations

import itertools

_running_cell_id: str | None = None
_running_in_history = True
_turns_asked = 0                 # conversation turns the running cell has asked so far
_anywhere = itertools.count(1)   # for turns asked where no cell can be told apart


def on_pre_run_cell(info) -> None:
    """IPython event: remember the id the frontend gave the starting cell, and whether it gets a number."""
    global _running_cell_id, _running_in_history, _turns_asked
    _running_cell_id = getattr(info, "cell_id", None)
    _running_in_history = getattr(info, "store_history", True)
    _turns_asked = 0


def turn_key() -> str:
    """The key of a conversation turn the running cell asks: which cell (its id, else its number) and how many
    turns it asked before. Re-running a notebook cell gives its turns the same keys, so they replace its
    own; a loop gives each turn its own; terminal IPython (no ids) makes every run a new cell."""
    global _turns_asked
    number, cell_id = current_cell()
    where = cell_id or (f"In[{number}]" if number is not None else None)
    _turns_asked += 1
    if where is None:  # nothing tells cells apart: never replace a turn
        return f"call {next(_anywhere)}"
    return f"{where} #{_turns_asked}"


def current_cell() -> tuple[int | None, str | None]:
    """The running cell's execution count and, when the frontend sends one, its cell id."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None, None
    shell = get_ipython()
    if shell is None:
        return None, None
    # IPython 9 increments execution_count before running a cell and 8 after it; the input history
    # already holds the running cell in both, so its index is the cell's number.
    # A cell run without history (nbval does that) has no number.
    history = getattr(shell, "history_manager", None)
    if not _running_in_history:
        return None, _running_cell_id
    count = len(history.input_hist_parsed) - 1 if history is not None else shell.execution_count
    return count, _running_cell_id


def saved_cell_after(cell_id: str) -> str | None:
    """The source of the cell after the cell `cell_id` in the notebook this kernel was started for, as last saved;
    None when that is not known (no notebook server said which file, the file cannot be read, no such cell).
    Jupyter's server names the file in the kernel's environment (JPY_SESSION_NAME)."""
    import json
    import os

    path = os.environ.get("JPY_SESSION_NAME")
    if not path or not path.endswith(".ipynb"):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            cells = json.load(f).get("cells") or []
        ids = [c.get("id") for c in cells]
        following = cells[ids.index(cell_id) + 1]
    except (OSError, ValueError, AttributeError, IndexError, TypeError):
        return None
    source = following.get("source") if isinstance(following, dict) else None
    return "".join(source) if isinstance(source, list) else source if isinstance(source, str) else None
