"""Which notebook cell is running: its execution count and the id the frontend gives it.

Ledger rows and thread turns are keyed by it, so re-running a cell is recognised as the same cell.
"""
from __future__ import annotations

_running_cell_id: str | None = None
_running_in_history = True


def on_pre_run_cell(info) -> None:
    """IPython event: remember the id the frontend gave the starting cell, and whether it gets a number."""
    global _running_cell_id, _running_in_history
    _running_cell_id = getattr(info, "cell_id", None)
    _running_in_history = getattr(info, "store_history", True)


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
