"""`{expression}` in a prompt, filled in from the notebook in one pass, the way IPython users expect.

A balanced `{…}` group (nesting and string literals respected) is evaluated when it parses as a Python
expression whose free names are all defined, in the notebook or as builtins, and at least one of them
comes from the notebook: `{x}`, `{df.head()}`, `{len(rows)}`, `{Out[3]}`. Everything else — JSON, set
literals, code — is kept byte for byte, though groups inside it are filled in (`{"name": "{name}"}`).
`{{…}}` is an escape for a literal `{…}`. A group that looks like
a variable reference but names something undefined (`{nmae}`) is kept and reported. The result is never
interpolated again.
"""
from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field

from openai_magics.core.errors import UsageError

_REFERENCES = (ast.Name, ast.Attribute, ast.Subscript, ast.Call)  # what a misspelt variable looks like


@dataclass
class Interpolated:
    text: str
    left_as_written: list[str] = field(default_factory=list)  # groups naming something undefined


def interpolate(text: str, namespace: dict) -> Interpolated:
    out, left, i = [], [], 0
    while i < len(text):
        end = _group_end(text, i) if text[i] == "{" else None
        if end is None:
            out.append(text[i])
            i += 1
            continue
        group = text[i:end]
        escaped = _escaped(group)
        value, undefined = (_KEEP, False) if escaped is not None else _evaluate(group[1:-1], namespace)
        if undefined:
            left.append(group)
        if escaped is not None or value is not _KEEP:
            out.append(escaped if escaped is not None else _text_of(value, group))
            i = end
        else:  # kept as written, but the groups inside it (`{"name": "{name}"}`) still count
            out.append("{")
            i += 1
    return Interpolated("".join(out), left)


def _group_end(text: str, start: int) -> int | None:
    """The index just past the `}` that closes the `{` at start, or None when it never closes."""
    depth, i = 0, start
    while i < len(text):
        char = text[i]
        if char in "'\"" and depth:
            i = _string_end(text, i)
            if i is None:
                return None
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _string_end(text: str, start: int) -> int | None:
    quote = text[start:start + 3] if text[start:start + 3] in ('"""', "'''") else text[start]
    i = start + len(quote)
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text.startswith(quote, i):
            return i + len(quote)
        elif text[i] == "\n" and len(quote) == 1:
            return None
        else:
            i += 1
    return None


def _escaped(group: str) -> str | None:
    """`{{x}}` → `{x}`: a group whose whole content is one inner group."""
    if group.startswith("{{") and group.endswith("}}") and _group_end(group, 1) == len(group) - 1:
        return group[1:-1]
    return None


_KEEP = object()


def _evaluate(source: str, namespace: dict):
    """(value or _KEEP, whether the group names something undefined)."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return _KEEP, False
    names = _free_names(tree)
    undefined = [n for n in names if n not in namespace and not hasattr(builtins, n)]
    if undefined:
        return _KEEP, isinstance(tree.body, _REFERENCES)
    if not any(n in namespace for n in names):
        return _KEEP, False
    try:
        return eval(compile(tree, "<prompt>", "eval"), namespace), False  # noqa: S307 - the user's own notebook
    except Exception as exc:
        raise UsageError(f"{{{source}}} raised {type(exc).__name__}: {exc}. Nothing was sent.") from None


def _free_names(tree: ast.AST) -> set[str]:
    """Names read but not bound inside the expression (comprehension targets, lambda arguments)."""
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return loaded - bound


# The one variable lookup, for options that name a variable (`--input df.text`): lookups only, no calls.
_STEP = re.compile(r"\.([A-Za-z_]\w*)|\[([^\[\]]*)\]")
MISSING = object()  # what resolve() returns for an expression that does not resolve


def resolve(expression: str, namespace: dict):
    """The value of `name(.attr|[key])*`, or MISSING. Nothing is evaluated: only lookups."""
    name = re.match(r"[A-Za-z_]\w*", expression).group(0)
    if name not in namespace:
        return MISSING
    value = namespace[name]
    for attr, key in _STEP.findall(expression[len(name):]):
        try:
            value = getattr(value, attr) if attr else _subscript(value, key)
        except (AttributeError, LookupError, TypeError, ValueError):
            return MISSING
    return value


def _subscript(value, key: str):
    key = key.strip()
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "'\"":
        return value[key[1:-1]]
    if re.fullmatch(r"-?\d+", key):
        try:
            return value[int(key)]
        except (LookupError, TypeError):
            pass
    return value[key]


def _text_of(value, group: str) -> str:
    """`str(value)`, or one clear line when the object cannot say itself (its `__str__` fails)."""
    try:
        return str(value)
    except Exception as exc:
        from openai_magics.core.errors import UsageError

        raise UsageError(f"{group} could not be turned into text ({type(exc).__name__}: {exc}); "
                         "pass something printable, or --no-interpolate.") from None
