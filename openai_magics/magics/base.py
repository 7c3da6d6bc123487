"""What every magic shares: interpolation, binding -o, choosing a view (SPEC §2)."""
from __future__ import annotations

from ..errors import UsageError
from ..interpolate import interpolate


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
