"""The errors every layer raises, each shown as one readable line: no traceback, never the key. How an SDK
failure becomes one of them is the wire's (`wire.errors`)."""
from __future__ import annotations

from IPython.core.error import UsageError

# Bad input and refused budgets raise IPython's own UsageError: IPython shows exactly that class as one
# line with no traceback (a subclass would get a traceback).
__all__ = ["UsageError", "CallFailed", "Interrupted", "error_source"]


class CallFailed(Exception):
    """An API call that failed after what retrying could do. Shown as one line (and the cell fails), headed by
    whose error it is: `source` is "OpenAI", or the server's name or address (see `error_source`)."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None, source: str = "OpenAI"):
        super().__init__(message)
        self.status, self.code, self.source = status, code, source
        self.server_name: str | None = None  # what the server calls itself (its headers), when it says

    def _render_traceback_(self) -> list[str]:  # IPython uses this instead of a traceback
        return [f"\x1b[31m{self.heading}\x1b[0m {self}"]

    @property
    def heading(self) -> str:
        """`OpenAI error:`, `Offline server error:`, `Server error (http://127.0.0.1:8791):`…"""
        if self.source in ("OpenAI", "Azure OpenAI", "Offline server"):
            return f"{self.source} error:"
        return f"{self.server_name or 'Server'} error ({self.source}):"


def error_source(config) -> str:
    """Whose error a failed call shows: OpenAI's own endpoint, Azure's, the offline server, or another
    server named by its address."""
    if config is None or config.is_openai:
        return "OpenAI"
    if config.is_azure:
        return "Azure OpenAI"
    if config.offline:
        return "Offline server"
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(config.base_url)
    except ValueError:  # a URL the client could not even be built with: shown as given
        return config.base_url
    host = parts.netloc.rsplit("@", 1)[-1]  # never a user:password@ (nor a path or query that may hold a key)
    return f"{parts.scheme}://{host}" if host else config.base_url


class Interrupted(KeyboardInterrupt):
    """The user stopped a call; what arrived is kept. Still a KeyboardInterrupt, so a Run All stops,
    but shown as one line instead of a traceback through our own code."""

    def _render_traceback_(self) -> list[str]:
        return [f"Interrupted: {self}"]
