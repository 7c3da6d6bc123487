"""Offline answers to prompts about a notebook, read the way a model reads them: a cell to fix (its error named,
a misspelt name corrected to the close one the prompt shows), an error to explain, and a question about
variables whose summaries the prompt gives (the DataFrames' shapes quoted)."""
from __future__ import annotations

import difflib
import re

_FIX = re.compile(r"^Fix this notebook cell\b", re.M)
_EXPLAIN = re.compile(r"^Explain the error this notebook cell raised\b", re.M)
_VARIABLES = re.compile(r"^Variables from my notebook\b", re.M)
_CELL = re.compile(r"```python\n(.*?)```", re.S)
_ERROR_BLOCK = re.compile(r"^The error:\s*\n```\w*\n(.*?)```", re.S | re.M)
_ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit|Warning)\b|[A-Z]\w*Error):?\s*(.*)$")
_SUGGESTED = re.compile(r"Did you mean:? '?([\w.]+)'?\??")
_MISSING = (re.compile(r"name '(\w+)' is not defined"), re.compile(r"has no attribute '(\w+)'"),
            re.compile(r"^'([^']+)'$"))
_FRAME = re.compile(r"^(\w[\w.]*): pandas DataFrame, ([\d,]+) rows × ([\d,]+) columns", re.M)
_NULLS = re.compile(r"^  (\S+): [^,\n]+, ([\d,]+) nulls?$", re.M)
_KIND = re.compile(r"^(\w[\w.]*): (pandas Series|numpy array|dict|list|str|function|module)\b[^\n]*", re.M)


def notebook_answer(prompt: str) -> str | None:
    if _FIX.search(prompt):
        return _fix(prompt)
    if _EXPLAIN.search(prompt):
        return _explain(prompt)
    if _VARIABLES.search(prompt):
        return _about_variables(prompt)
    return None


def _error(prompt: str) -> tuple[str, str]:
    """The error's type and message: the last line of the traceback the prompt gives that names one."""
    block = _ERROR_BLOCK.search(prompt)
    lines = (block.group(1) if block else prompt).splitlines()
    for line in reversed(lines):
        found = _ERROR_LINE.match(line.strip())
        if found:
            return found.group(1), found.group(2).strip()
    return "an error", ""


def _correction(prompt: str, message: str) -> tuple[str, str] | None:
    """(the misspelt name, the name it most likely means), from the error and the names the prompt shows."""
    for pattern in _MISSING:
        missing = pattern.search(message)
        if missing:
            wrong = missing.group(1)
            break
    else:
        return None
    suggested = _SUGGESTED.search(message)
    if suggested:
        return wrong, suggested.group(1)
    names = set(re.findall(r"[A-Za-z_]\w*", prompt)) - {wrong}
    close = difflib.get_close_matches(wrong, sorted(names), n=1, cutoff=0.7)
    return (wrong, close[0]) if close else None


def _fix(prompt: str) -> str:
    kind, message = _error(prompt)
    error = f"`{kind}: {message}`" if message else f"`{kind}`"
    cell = _CELL.search(prompt)
    source = cell.group(1).rstrip("\n") if cell else ""
    correction = _correction(prompt, message)
    if correction is None or not source:
        return (f"The cell raised {error}. The offline server corrects misspelt names only, so the cell is "
                f"given back as it was:\n\n```python\n{source}\n```")
    wrong, right = correction
    if kind == "KeyError":  # a key is written in quotes
        fixed = source.replace(f"'{wrong}'", f"'{right}'").replace(f'"{wrong}"', f'"{right}"')
    else:
        fixed = re.sub(rf"\b{re.escape(wrong)}\b", right, source)
    return (f"The cell raised {error}: `{wrong}` is a misspelling of `{right}`. The corrected cell:\n\n"
            f"```python\n{fixed}\n```\n\n(Fixed by the offline server, which corrects misspelt names.)")


def _explain(prompt: str) -> str:
    kind, message = _error(prompt)
    error = f"`{kind}: {message}`" if message else f"`{kind}`"
    correction = _correction(prompt, message)
    if correction is None:
        return (f"The cell raised {error}. The offline server explains misspelt names only; a model reads the "
                "traceback and the variables' summaries to say why this one happened.")
    wrong, right = correction
    return (f"The cell raised {error}. Python looked up `{wrong}` when the line ran and found nothing of that "
            f"name, but the notebook has `{right}`, which differs by a letter or two: `{wrong}` is most likely a "
            f"misspelling of `{right}`. Write `{right}` and run the cell again.")


def _about_variables(prompt: str) -> str:
    said = [f"`{name}` is a DataFrame of {rows} rows × {columns} columns (shape ({rows.replace(',', '')}, "
            f"{columns.replace(',', '')})){_missing(prompt, name)}" for name, rows, columns in _FRAME.findall(prompt)]
    said += [f"`{name}` is a {kind}" for name, kind in _KIND.findall(prompt)]
    question = next((line.strip() for line in reversed(prompt.splitlines()) if line.strip()), "")
    known = "; ".join(said) if said else "the variables you gave are summarised"
    return (f"From your notebook: {known}.\n\nYou asked: *{question.replace('*', '')}* The offline server "
            "answers from the summaries it was given and quotes what they say.")


def _missing(prompt: str, name: str) -> str:
    """", with missing values in price (20)": the columns of the frame's summary whose null count is not 0."""
    start = prompt.find(f"{name}: pandas DataFrame")
    end = prompt.find("\n\n", start)
    block = prompt[start:end if end > 0 else None]
    missing = [f"{column} ({count})" for column, count in _NULLS.findall(block) if count != "0"]
    return f", with missing values in {', '.join(missing)}" if missing else ", with no missing values"
