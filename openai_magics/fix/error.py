"""The kernel's last error as a model should see it: type and message, the traceback trimmed to the user's own
frames (their locals too under `%xmode Verbose`), the cell that failed, and the notebook variables it uses."""
from __future__ import annotations

import ast
import difflib
import linecache
import re
import sys
import sysconfig
import traceback
from dataclasses import dataclass, field

from openai_magics.core.errors import UsageError

MOST_VARIABLES = 8
MOST_LOCALS = 20
LOCAL_CHARS = 80


NO_ERROR = "No error to fix: run the cell that fails first, then %fix (or %explain) in the next cell."
OWN_CELL = re.compile(r"^\s*%(fix|explain)\b")  # the error of a %fix cell itself is no error to fix


@dataclass
class LastError:
    kind: str                      # "NameError"
    message: str                   # the exception's line(s), as Python prints them ("Did you mean" included)
    traceback: str                 # the user's frames, innermost last
    cell: str                      # the source of the cell that failed
    label: str                     # "In [5]"
    variables: dict = field(default_factory=dict)  # name → value: what the cell uses, and names close to a missing one


def last_error(shell) -> LastError:
    """The last exception the kernel showed, or one line saying there is none."""
    value = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    if value is None:
        raise UsageError(NO_ERROR)
    cells = shell.compile._filename_map
    tb = None if isinstance(value, SyntaxError) else value.__traceback__  # its frames are the compiler's
    frames, live = traceback.extract_tb(tb), list(_walk(tb))
    cell_file = next((f.filename for f in frames if f.filename in cells), None)
    if cell_file is None and isinstance(value, SyntaxError) and value.filename in cells:
        cell_file = value.filename
    source = _cell_source(shell, cell_file, cells) if cell_file else ""
    if OWN_CELL.match(source):
        raise UsageError(NO_ERROR)
    if not source.strip():
        raise UsageError(f"The last error ({type(value).__name__}) did not come from a cell of this notebook: "
                         "nothing to fix.")
    shown = "".join(traceback.TracebackException.from_exception(value).format_exception_only()).rstrip()
    verbose = getattr(getattr(shell, "InteractiveTB", None), "mode", "") == "Verbose"
    return LastError(type(value).__name__, shown, _trimmed(frames, live, cells, verbose), source.rstrip(),
                     f"In [{cells[cell_file]}]", _variables(source, value, shell))


def _cell_source(shell, filename: str, cells: dict) -> str:
    """The cell as the user typed it (its magics as written), from the shell's history; else as it ran."""
    history = shell.history_manager.input_hist_raw
    number = cells[filename]
    if 0 < number < len(history) and history[number].strip():
        return history[number]
    return "".join(linecache.getlines(filename))


def _walk(tb):
    while tb is not None:
        yield tb.tb_frame
        tb = tb.tb_next


def _trimmed(frames, live_frames, cells: dict, verbose: bool) -> str:
    """The user's frames (cells and their own files; the frame that raised, wherever it is), like IPython's."""
    lines = []
    for index, (frame, live) in enumerate(zip(frames, live_frames)):
        last = index == len(frames) - 1
        if not (frame.filename in cells or _is_users(frame.filename) or last):
            continue
        where = (f"Cell In[{cells[frame.filename]}], line {frame.lineno}" if frame.filename in cells else
                 f"File {frame.filename}:{frame.lineno}")
        lines.append(f"{where}, in {frame.name}" if frame.name != "<module>" else where)
        if frame.line:
            lines.append(f"    {frame.line}")
        if verbose and live.f_code.co_name != "<module>":
            lines.extend(_locals(live.f_locals))
    return "\n".join(lines)


def _is_users(filename: str) -> bool:
    """A file of the user's own: not Python's, not an installed package's, not a frozen or generated one."""
    if filename.startswith("<"):
        return False
    libraries = {sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")}
    from pathlib import Path

    package = str(Path(__file__).resolve().parents[1])
    return not any(filename.startswith(path) for path in (*libraries, package))


def _locals(names: dict) -> list[str]:
    """What `%xmode Verbose` shows of a frame: its variables, each cut to a line."""
    shown = []
    for name, value in list(names.items())[:MOST_LOCALS]:
        try:
            text = repr(value)
        except Exception:
            text = f"<{type(value).__name__}>"
        shown.append(f"      {name} = {text[:LOCAL_CHARS]}{'…' if len(text) > LOCAL_CHARS else ''}")
    return shown


def _variables(source: str, error: BaseException, shell) -> dict:
    """The notebook variables the cell names (modules left out: their name says all), and for a name Python
    could not find, the notebook's names closest to it."""
    import types

    namespace, hidden = shell.user_ns, shell.user_ns_hidden
    used = [n for n in _names(source, shell) if n in namespace and n not in hidden and not n.startswith("_")]
    missing = getattr(error, "name", None) if isinstance(error, NameError) else None
    if missing:
        visible = [n for n in namespace if n not in hidden and not n.startswith("_")]
        used += difflib.get_close_matches(missing, visible, n=2, cutoff=0.7)
    chosen = [n for n in dict.fromkeys(used) if not isinstance(namespace[n], types.ModuleType)]
    return {name: namespace[name] for name in chosen[:MOST_VARIABLES]}


def _names(source: str, shell) -> list[str]:
    """The names in the cell's code, in order (its magics as IPython runs them); a cell that does not parse
    gives the words that look like names."""
    try:
        tree = ast.parse(shell.transform_cell(source))
    except (SyntaxError, ValueError):
        return re.findall(r"[A-Za-z_]\w*", source)
    return [node.id for node in ast.walk(tree) if isinstance(node, ast.Name)]
