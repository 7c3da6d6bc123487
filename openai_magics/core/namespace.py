"""`{name}`, `{name.attr}`, `{name[key]}`, `{In[3]}` from the user namespace, in one pass.

A brace expression that does not resolve is left exactly as written (prompts hold code and JSON);
`{{` and `}}` are literal braces. The result is never interpolated again.
"""
from __future__ import annotations

import re

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[[^\[\]{}]*\])*)\}")
_STEP = re.compile(r"\.([A-Za-z_]\w*)|\[([^\[\]]*)\]")
MISSING = object()  # what resolve() returns for an expression that does not resolve


def interpolate(text: str, namespace: dict) -> str:
    def replace(match: re.Match) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        value = resolve(match.group(1), namespace)
        return token if value is MISSING else str(value)

    return _TOKEN.sub(replace, text)


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
