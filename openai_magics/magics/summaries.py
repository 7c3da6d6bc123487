"""Notebook values as short text a model can read (`--context df`, `%fix`): each within its share of a token
budget, and none of it holding a byte of the session's keys.

A summary reads only what it shows: a DataFrame's shape, dtypes and null counts, describe() of a few numeric
columns and its first rows (never the whole frame as a string), so a million rows take a fraction of a second.
"""
from __future__ import annotations

import inspect
import types
from dataclasses import dataclass

DEFAULT_CONTEXT_TOKENS = 2000
HEADER = "Variables from my notebook (summaries):"
SAMPLE_ROWS = 3
MOST_COLUMNS = 40          # listed with their dtype and nulls
MOST_DESCRIBED = 6         # numeric columns given to describe() (it sorts each one)
MOST_SHOWN_COLUMNS = 10    # in the sample rows
MOST_ITEMS = 30            # of a dict, list or set
CHARS_PER_TOKEN = 8        # text longer than this many characters a token cannot fit, so it is cut before counting
KEY_PIECE = 12             # this many characters of a key in a row are taken as a piece of it


@dataclass(frozen=True)
class Context:
    """The block of summaries sent ahead of a question, and what it is made of."""

    text: str
    names: tuple[str, ...]
    tokens: int
    budget: int

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return bool(self.text)


def context_of(named: dict[str, object], model: str, budget: int | None = None, session=None) -> Context:
    """The summaries of `named` (name → value), within `budget` tokens in all, scrubbed of the session's keys.
    A short summary keeps all it needs; the budget it leaves goes to the longer ones."""
    from openai_magics.facts.tokens import count_text

    budget = DEFAULT_CONTEXT_TOKENS if budget is None else budget
    if not named:
        return Context("", (), 0, budget)
    header = count_text(HEADER + "\n\n", model).tokens
    whole = {name: scrub(summarise(value, name, budget), session) for name, value in named.items()}
    sizes = {name: count_text(text, model).tokens for name, text in whole.items()}
    shares = _fair_shares(sizes, budget - header - 2 * len(named))
    parts = [cut_to_tokens(whole[name], shares[name], model) for name in named]
    text = cut_to_tokens(HEADER + "\n\n" + "\n\n".join(part for part in parts if part), budget, model)
    return Context(text, tuple(named), count_text(text, model).tokens, budget)


def _fair_shares(sizes: dict[str, int], budget: int) -> dict[str, int]:
    """Each summary its whole size while that is below an equal share of what is left; the rest split evenly."""
    shares, left, waiting = {}, max(budget, 0), sorted(sizes, key=sizes.get)
    while waiting:
        equal = left // len(waiting)
        name = waiting.pop(0)
        shares[name] = min(sizes[name], equal)
        left -= shares[name]
    return shares


def cut_to_tokens(text: str, tokens: int, model: str) -> str:
    """`text` whole when it fits in `tokens`, else its first lines that do, marked as cut."""
    from openai_magics.facts.tokens import count_text

    if count_text(text, model).tokens <= tokens:
        return text
    mark = "… (cut to fit the context budget)"
    room = tokens - count_text("\n" + mark, model).tokens
    if room <= 0:
        return ""
    kept = _first_tokens(text, room, model)
    while kept and count_text(kept, model).tokens > room:  # decoding may join pieces into more tokens
        kept = kept[:-max(1, len(kept) // 20)]
    cut_at = kept.rfind("\n")
    if cut_at > len(kept) // 2:
        kept = kept[:cut_at]
    return f"{kept.rstrip()}\n{mark}" if kept.strip() else ""


def _first_tokens(text: str, tokens: int, model: str) -> str:
    from openai_magics.facts.tokens import get_encoding

    encoding = get_encoding(model)
    if encoding is None:  # no encoding offline: the estimate's four characters a token
        return text[:tokens * 4]
    return encoding.decode(encoding.encode(text[:tokens * CHARS_PER_TOKEN], disallowed_special=())[:tokens])


def summarise(value, name: str, budget: int = DEFAULT_CONTEXT_TOKENS) -> str:
    """One value, compactly, headed by its name and kind; text beyond what `budget` tokens could hold is left
    out before anything is counted."""
    limit = budget * CHARS_PER_TOKEN
    for kind, summary in _KINDS:
        if kind(value):
            text = summary(value, name, limit)
            return text if len(text) <= limit else text[:limit]
    return f"{name}: {_type_name(value)}\n{_short_repr(value, limit)}"


def _is_dataframe(value) -> bool:
    return _is_pandas(value, "DataFrame")


def _is_series(value) -> bool:
    return _is_pandas(value, "Series")


def _is_pandas(value, kind: str) -> bool:
    import sys

    pandas = sys.modules.get("pandas")  # a notebook holding a DataFrame has imported pandas
    return pandas is not None and isinstance(value, getattr(pandas, kind))


def _is_ndarray(value) -> bool:
    import sys

    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


def _dataframe(df, name: str, limit: int) -> str:
    rows, columns = df.shape
    lines = [f"{name}: pandas DataFrame, {rows:,} rows × {columns:,} columns (shape ({rows}, {columns}))"]
    nulls = df.iloc[:, :MOST_COLUMNS].isna().sum()
    lines.append("columns (dtype, nulls):")
    for position, column in enumerate(df.columns[:MOST_COLUMNS]):
        lines.append(f"  {column}: {df.dtypes.iloc[position]}, {_nulls(int(nulls.iloc[position]))}")
    if columns > MOST_COLUMNS:
        lines.append(f"  … and {columns - MOST_COLUMNS:,} more columns")
    numeric = df.select_dtypes("number")
    if rows and numeric.shape[1]:
        described = numeric.iloc[:, :MOST_DESCRIBED].describe()
        lines.append("describe() of the numeric columns" + (
            f" (the first {MOST_DESCRIBED})" if numeric.shape[1] > MOST_DESCRIBED else "") + ":")
        lines.append(described.to_string(float_format=_number))
    if rows:
        lines.append(f"first {min(rows, SAMPLE_ROWS)} rows:")
        lines.append(df.iloc[:SAMPLE_ROWS, :MOST_SHOWN_COLUMNS].to_string(max_colwidth=40))
    return "\n".join(lines)


def _nulls(count: int) -> str:
    return f"{count:,} null{'' if count == 1 else 's'}"


def _series(series, name: str, limit: int) -> str:
    label = f" {series.name!r}" if series.name is not None else ""
    lines = [f"{name}: pandas Series{label}, {len(series):,} values, dtype {series.dtype}, "
             f"{_nulls(int(series.isna().sum()))}"]
    if len(series):
        lines.append("describe():")
        lines.append(series.describe().to_string(float_format=_number))
        lines.append(f"first {min(len(series), SAMPLE_ROWS)} values:")
        lines.append(series.iloc[:SAMPLE_ROWS].to_string(max_rows=SAMPLE_ROWS))
    return "\n".join(lines)


def _ndarray(array, name: str, limit: int) -> str:
    import numpy

    lines = [f"{name}: numpy array, shape {array.shape}, dtype {array.dtype}"]
    if array.size and numpy.issubdtype(array.dtype, numpy.number) and not numpy.iscomplexobj(array):
        with numpy.errstate(all="ignore"):
            lines.append(f"min {_number(numpy.nanmin(array))} · max {_number(numpy.nanmax(array))} · "
                         f"mean {_number(numpy.nanmean(array))} · {int(numpy.isnan(array).sum()):,} NaN"
                         if array.dtype.kind == "f" else
                         f"min {_number(array.min())} · max {_number(array.max())} · mean {_number(array.mean())}")
    lines.append(numpy.array2string(array, threshold=20, edgeitems=3, max_line_width=100))
    return "\n".join(lines)


def _mapping(value: dict, name: str, limit: int) -> str:
    lines = [f"{name}: {_type_name(value)}, {len(value):,} keys"]
    for key in list(value)[:MOST_ITEMS]:
        item = value[key]
        lines.append(f"  {key!r}: {_type_name(item)} {_short_repr(item, 80)}")
    if len(value) > MOST_ITEMS:
        lines.append(f"  … and {len(value) - MOST_ITEMS:,} more keys")
    return "\n".join(lines)


def _collection(value, name: str, limit: int) -> str:
    import itertools

    first = list(itertools.islice(value, MOST_ITEMS))
    kinds = sorted({_type_name(item) for item in first})
    head = f"{name}: {_type_name(value)}, {len(value):,} items" + (f" ({', '.join(kinds)})" if kinds else "")
    more = f", … and {len(value) - MOST_ITEMS:,} more" if len(value) > MOST_ITEMS else ""
    return f"{head}\n  " + ", ".join(_short_repr(item, 80) for item in first) + more


def _string(value: str, name: str, limit: int) -> str:
    return f"{name}: str, {len(value):,} characters\n{value[:limit]}"


def _code(value, name: str, limit: int) -> str:
    kind = "class" if inspect.isclass(value) else "function"
    try:
        source = inspect.getsource(value)
    except (OSError, TypeError):
        source = f"{getattr(value, '__name__', name)}{_signature(value)}  (source not available)"
    return f"{name}: {kind} {getattr(value, '__qualname__', name)}\n{source[:limit]}"


def _signature(value) -> str:
    try:
        return str(inspect.signature(value))
    except (TypeError, ValueError):
        return "(…)"


def _module(value, name: str, limit: int) -> str:
    doc = (inspect.getdoc(value) or "").strip().split("\n", 1)[0]
    where = getattr(value, "__file__", None) or "built in"
    return f"{name}: module {value.__name__} ({where})" + (f"\n{doc}" if doc else "")


_KINDS = (
    (_is_dataframe, _dataframe),
    (_is_series, _series),
    (_is_ndarray, _ndarray),
    (lambda v: isinstance(v, dict), _mapping),
    (lambda v: isinstance(v, str), _string),
    (lambda v: isinstance(v, (list, tuple, set, frozenset)), _collection),
    (lambda v: inspect.isfunction(v) or inspect.ismethod(v) or inspect.isclass(v), _code),
    (lambda v: isinstance(v, types.ModuleType), _module),
)


def _type_name(value) -> str:
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _short_repr(value, chars: int) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a user's class whose __repr__ fails still gets a line
        text = f"<repr failed: {type(exc).__name__}>"
    return text if len(text) <= chars else text[:chars] + "…"


def _number(x) -> str:
    """A figure as a reader writes it: whole numbers with thousands separators, others to 6 digits."""
    try:
        whole = float(x).is_integer() and abs(x) < 1e15
    except (TypeError, ValueError, OverflowError):
        return str(x)
    return f"{x:,.0f}" if whole else f"{x:.6g}"


def scrub(text: str, session=None) -> str:
    """`text` without the session's keys: whole (the session's own redaction), and any piece of one long
    enough to tell (a repr cut short keeps a key's first characters)."""
    if session is None:
        return text
    text = session.redact(text)
    for secret in (session.config.api_key, session.config.endpoint_key):
        if secret is not None:
            text = _without_pieces(text, secret.reveal())
    return text


def _without_pieces(text: str, key: str) -> str:
    from openai_magics.core.config import REDACTED, SECRET_LENGTH

    if len(key) < SECRET_LENGTH:
        return text  # a local server's placeholder ("EMPTY") is no secret
    pieces = {key[i:i + KEY_PIECE] for i in range(len(key) - KEY_PIECE + 1)}
    out, i = [], 0
    while i < len(text):
        if text[i:i + KEY_PIECE] in pieces:
            end = i + KEY_PIECE
            while end < len(text) and text[i:end + 1] in key:
                end += 1
            out.append(REDACTED)
            i = end
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def named_values(names: str, shell, option: str = "--context") -> dict[str, object]:
    """`--context df,x`: each name's value, found the one way an option names a notebook value."""
    from openai_magics.magics.kit import variable
    from openai_magics.core.errors import UsageError

    wanted = [n.strip() for n in names.split(",") if n.strip()]
    if not wanted:
        raise UsageError(f"{option} names notebook variables, e.g. {option} df,columns.")
    return {name: variable(shell, name, option) for name in dict.fromkeys(wanted)}


def named_objects(values, namespace: dict | None) -> dict[str, object]:
    """`chat(..., context=[df])`: each object under the notebook name that holds it (else `value N`); a dict
    is taken as names → values already."""
    if isinstance(values, dict):
        return {str(name): value for name, value in values.items()}
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        values = [values]
    names = {id(v): n for n, v in (namespace or {}).items() if not n.startswith("_")}
    return {names.get(id(value), f"value {i + 1}"): value for i, value in enumerate(values)}
