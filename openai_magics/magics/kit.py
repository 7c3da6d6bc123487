"""What every magic shares: interpolation, binding -o, choosing a view (SPEC §2)."""
from __future__ import annotations

from openai_magics.core.errors import UsageError
from openai_magics.core.namespace import interpolate


def parse(magic_fn, line: str):
    """magic_arguments parsing, with quotes taken off values (IPython splits without removing them)."""
    from IPython.core.magic_arguments import parse_argstring

    args = parse_argstring(magic_fn, line)
    for name, value in vars(args).items():
        if isinstance(value, str):
            setattr(args, name, unquote(value))
        elif isinstance(value, list):
            setattr(args, name, [unquote(v) if isinstance(v, str) else v for v in value])
    return args


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def expand(text: str | None, shell, enabled: bool = True) -> str | None:
    if text is None or not enabled or shell is None:
        return text
    return interpolate(text, shell.user_ns)


def require_text(text: str | None, what: str = "the cell") -> str:
    if not text or not text.strip():
        raise UsageError(f"Nothing to send: {what} is empty.")
    return text.strip()


def bind(shell, name: str | None, value) -> None:
    if name:
        if not name.isidentifier():
            raise UsageError(f"-o needs a Python name, not {name!r}.")
        shell.user_ns[name] = value


def is_terminal(shell) -> bool:
    return type(shell).__name__ == "TerminalInteractiveShell"


def check_positive(value, option: str) -> None:
    if value is not None and value <= 0:
        raise UsageError(f"{option} must be positive, not {value}.")


_QUESTION_LINE = None


def keep_question_marks(lines: list[str]) -> list[str]:
    """IPython reads a line magic that ends in '?' as a help request; `%chat Is it prime?` is a question.

    An input transformer (run before IPython's own) turns such lines into the call IPython would have
    made, so the '?' reaches the prompt. `%chat?` alone still shows the help.
    """
    import re

    global _QUESTION_LINE
    if _QUESTION_LINE is None:
        _QUESTION_LINE = re.compile(r"^(\s*)%(chat|tokens)\s+(\S.*\?)\s*$")
    out = []
    for line in lines:
        match = _QUESTION_LINE.match(line)
        if match and not match.group(3).startswith("?"):
            indent, name, rest = match.groups()
            line = f"{indent}get_ipython().run_line_magic({name!r}, {rest!r})\n"
        out.append(line)
    return out


def guarded(magic_fn):
    """A registered magic inside the one error boundary: whatever fails shows as one line, key redacted."""
    import functools

    from openai_magics.core.errors import boundary
    from openai_magics.core.session import session

    @functools.wraps(magic_fn)
    def run(*args, **kwargs):
        with boundary(session):
            return magic_fn(*args, **kwargs)

    return run


def guard_all(magics) -> None:
    """Put every magic of a Magics instance inside the boundary (before it is registered)."""
    for table in magics.magics.values():
        for name, magic_fn in table.items():
            table[name] = guarded(magic_fn)
