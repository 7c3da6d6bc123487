"""The one session per kernel: configuration, budget, the response cache and each capability's state.

Core sits at the bottom, so the session holds what the layers above make for it: the composition root
(`openai_magics/__init__.py`) says how the kernel's session is made (`make_sessions_with`), and the session it
makes is `metering.session.MeteredSession`, this one with the SDK client, the ledger and the prices.
Everything a magic does goes through the session, so it is usable from plain Python without IPython.
"""
from __future__ import annotations

import re
import threading
from decimal import Decimal
from typing import Callable

from openai_magics.core.config import Config, Secret
from openai_magics.core.errors import UsageError

OFFLINE_KEY = "sk-offline"
_BEARER = re.compile(r"Bearer\s+[A-Za-z0-9._~+/=-]+", re.I)


class Session:
    def __init__(self, config: Config | None = None):
        self.config = config or Config.from_env()
        self.budget: Decimal | None = None
        self.cache = None             # the response cache (see openai_magics.cache), when turned on
        self.cache_from_env = True    # OPENAI_MAGICS_CACHE / _REPLAY still to be read on first use
        self.offline_server = None    # the bundled server, when `%openai offline` started one
        self.last_result = None
        self._parts: dict[type, object] = {}
        self._parts_lock = threading.Lock()

    def part(self, kind: type):
        """The session's one instance of `kind`: the state a capability keeps for the kernel (chat threads,
        embedding vectors…), made on first use. Core knows none of them."""
        with self._parts_lock:
            if kind not in self._parts:
                self._parts[kind] = kind()
            return self._parts[kind]

    def require_key(self) -> None:
        """The one line for a call OpenAI would refuse for want of a key: checked before a live view shows, so
        a cell never waits for a first token that cannot come."""
        if self.config.api_key is None and self.config.is_openai:
            raise UsageError("No API key. Run `%openai key`, set OPENAI_API_KEY, "
                             "or try everything without one: `%openai offline`.")

    def configure(self, **changes) -> None:
        """Change endpoint, key, models… (the client is rebuilt on next use). A new endpoint forgets the key given
        for the old one (unless `endpoint_key` comes with it)."""
        if "base_url" in changes and changes["base_url"] != self.config.base_url:
            changes.setdefault("endpoint_key", None)
        for name, value in changes.items():
            if not hasattr(self.config, name):
                raise AttributeError(name)
            setattr(self.config, name, value)

    def set_key(self, key: str, source: str = "%openai key") -> None:
        self.configure(api_key=Secret(key.strip(), source))

    @property
    def base_url(self) -> str:
        return self.config.base_url or "https://api.openai.com/v1"

    def redact(self, text: str) -> str:
        """`text` without any key of this session, nor any bearer token a server echoed."""
        text = _BEARER.sub("Bearer …(redacted)", text)
        for secret in (self.config.api_key, self.config.endpoint_key):
            if secret is not None:
                text = secret.redact(text)
        return text

    def redact_bytes(self, data: bytes) -> bytes:
        """`data` (a piece of an answer's body) without any key of this session. Only the keys themselves: an
        answer about "Bearer tokens" stays as the model wrote it."""
        for secret in (self.config.api_key, self.config.endpoint_key):
            if secret is not None:
                data = secret.redact_bytes(data)
        return data

    def model_for(self, kind: str, requested: str | None = None) -> str:
        return requested or self.config.models[kind]

    def attach_offline(self, server) -> None:
        """Point the session at a running offline server (anything with `base_url`, `running` and `stop()`)."""
        self.offline_server = server
        self.configure(base_url=server.base_url, endpoint_key=Secret(OFFLINE_KEY, "offline server"), offline=True)


_session: Session | None = None
_make_session: Callable[[], Session] | None = None


def make_sessions_with(factory: Callable[[], Session]) -> None:
    """How the kernel's session is made: given once by the composition root, which knows the layers above."""
    global _make_session
    _make_session = factory


def session() -> Session:
    """The kernel's shared session, created on first use."""
    global _session
    if _session is None:
        _session = _make_session()
    return _session


def reset_session() -> Session:
    global _session
    if _session is not None and _session.offline_server is not None:
        _session.offline_server.stop()
    _session = _make_session()
    return _session
