"""What every magic shares: interpolation, binding -o, choosing a view (SPEC §2)."""
from __future__ import annotations

from ..errors import UsageError
from ..interpolate import interpolate


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
