"""A prompt over every row: the rows of a list, Series or DataFrame, and the template filled in per row.

`{item}` is a list's or Series' value; a DataFrame row is `{row}` with its columns as `{column}` (when the
name is an identifier) or `{row["any column"]}`. The notebook's variables stay reachable. Each row's
prompt is filled in one pass by the notebook's own interpolation (`core.namespace`), so it behaves exactly
as a single cell does. A template naming a column the rows lack is refused before anything is sent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from openai_magics.core.errors import UsageError
from openai_magics.core.namespace import interpolate

_GROUP = re.compile(r"(?<!\{)\{([^{}]+)\}(?!\})")
_ROW_KEY = re.compile(r"""^\s*row\s*\[\s*(['"])(.*?)\1\s*\]\s*$""")
_ROW_ATTR = re.compile(r"^\s*row\.([A-Za-z_]\w*)\s*$")
_NAME = re.compile(r"^\s*([A-Za-z_]\w*)\s*$")


@dataclass
class TemplateRows:
    """What `--over NAME` names, as rows: their labels (the input's index) and each row's own names."""

    name: str
    labels: list
    scopes: list[dict]          # per row: {"item": value} or {"row": Series, column: value…}
    columns: list | None = None  # a DataFrame's columns; None for a list or Series
    index: object = None        # the pandas index to align results with, when the input had one

    def __len__(self) -> int:
        return len(self.labels)


def as_rows(value, name: str) -> TemplateRows:
    """A list, tuple, pandas Series or DataFrame as Rows; one clear line for anything else."""
    kind = type(value).__name__
    if kind == "DataFrame":
        columns = list(value.columns)
        names = [c for c in columns if isinstance(c, str) and c.isidentifier() and c not in ("row", "item")]
        scopes = [{"row": row, "index": label, **{c: row[c] for c in names}} for label, row in value.iterrows()]
        return TemplateRows(name, list(value.index), scopes, columns, value.index)
    if kind == "Series":
        return TemplateRows(name, list(value.index), [{"item": v, "index": i} for i, v in value.items()], None, value.index)
    if isinstance(value, (list, tuple)):
        return TemplateRows(name, list(range(len(value))), [{"item": v, "index": i} for i, v in enumerate(value)])
    raise UsageError(f"--over {name}: give a list, a pandas Series or a DataFrame, not a {kind}.")


def check_template(template: str, rows: TemplateRows, namespace: dict, *, row_names: bool = True) -> None:
    """Refuse, before anything is sent, a template naming a column (or variable) the rows do not have.
    `row_names`: the template may name a row's column as {row["its name"]} (`--over`; not `%%eval`)."""
    known = rows.scopes[0] if rows.scopes else {}
    for match in _GROUP.finditer(template):
        group = match.group(1)
        key = (_ROW_KEY.match(group) or _ROW_ATTR.match(group)) if row_names else None
        if key is not None:
            column = key.group(key.lastindex)
            if rows.columns is None:
                raise UsageError(f"{{{group}}}: the rows of {rows.name} are not a DataFrame's; "
                                 "name each one {item}.")
            if column not in rows.columns:
                raise UsageError(f"{{{group}}}: {rows.name} has no column {column!r} (its columns: "
                                 f"{', '.join(map(str, rows.columns))}). Nothing was sent.")
            continue
        bare = _NAME.match(group)
        if bare and bare.group(1) not in known and bare.group(1) not in namespace:
            if rows.columns is None:
                raise UsageError(f"{{{group}}}: no such variable; each row of {rows.name} is {{item}}. "
                                 "Nothing was sent.")
            raise UsageError(f"{{{group}}}: neither a column of {rows.name} (its columns: "
                             f"{', '.join(map(str, rows.columns))}) nor a notebook variable. Nothing was sent."
                             + (' A column whose name has spaces is {row["its name"]}.' if row_names else ""))


def fill(template: str, scope: dict, namespace: dict) -> str:
    """The template filled in for one row: the row's names first, then the notebook's."""
    filled = interpolate(template, {**namespace, **scope})
    return getattr(filled, "text", filled)


def check_values(template: str, rows: TemplateRows, option: str = "--over") -> None:
    """Refuse, before anything is sent, rows whose value the template reads is missing (None, NaN, NA, NaT):
    each would be sent as "Translate: nan"."""
    named = []
    for match in _GROUP.finditer(template):
        group = match.group(1)
        key = _ROW_KEY.match(group) or _ROW_ATTR.match(group) or _NAME.match(group)
        if key is not None:
            named.append((group, key.group(key.lastindex), key.re is not _NAME))
    empty = []
    for label, scope in zip(rows.labels, rows.scopes):
        for group, name, in_row in named:
            holder = scope.get("row") if in_row else scope
            try:
                value = holder[name] if holder is not None and name in holder else ...
            except (KeyError, TypeError):
                continue
            if value is not ... and is_missing(value):
                empty.append(f"row {label!r}: {{{group}}} is {value}")
                break
    if empty:
        shown = "; ".join(empty[:3]) + (f"; and {len(empty) - 3:,} more" if len(empty) > 3 else "")
        raise UsageError(f"{option} {rows.name}: {len(empty):,} row{'s' * (len(empty) != 1)} without a value where "
                         f"the template reads one ({shown}). Fill or drop them first (e.g. .dropna()); nothing "
                         "was sent.")


def is_missing(value) -> bool:
    """None, NaN, pandas' NA or NaT: a cell without a value."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    try:
        return (isinstance(value, float) or getattr(value, "ndim", None) == 0) and bool(value != value)
    except (TypeError, ValueError):
        return False


def prompts(template: str, rows: TemplateRows, namespace: dict) -> list[str]:
    check_template(template, rows, namespace)
    check_values(template, rows)
    return [fill(template, scope, namespace) for scope in rows.scopes]
