"""When the cache answers: the session's cache (turned on by `%openai cache`, or the environment), lookups
that honour `--no-cache` and replay mode, and storing an answer without ever losing a paid one.
"""
from __future__ import annotations

import os
import sqlite3
import sys
from contextlib import contextmanager
from dataclasses import dataclass

from openai_magics.cache.keys import endpoint_of, request_key
from openai_magics.cache.store import ResponseCache, holds_text
from openai_magics.core.errors import UsageError

CACHE_ENV, REPLAY_ENV = "OPENAI_MAGICS_CACHE", "OPENAI_MAGICS_REPLAY"
SAMPLING_APIS = frozenset({"chat", "responses"})  # answers drawn at a temperature (default 1)


def from_env(environ=None) -> ResponseCache | None:
    """`OPENAI_MAGICS_REPLAY=PATH` (replay) or `OPENAI_MAGICS_CACHE=PATH` (cache on), for headless runs."""
    env = os.environ if environ is None else environ
    if env.get(REPLAY_ENV):
        return ResponseCache(env[REPLAY_ENV], replay=True)
    if env.get(CACHE_ENV):
        return ResponseCache(env[CACHE_ENV])
    return None


def current(session) -> ResponseCache | None:
    """The session's cache: the one `%openai cache`/`replay` set, else the environment's (read once)."""
    if session.cache_from_env:
        if session.cache is None:
            try:
                session.cache = from_env()
            except UsageError as exc:
                return _unusable_from_env(session, exc)
        session.cache_from_env = False
    return session.cache


def _unusable_from_env(session, exc: UsageError) -> None:
    """A variable naming a file that cannot be the cache. Replay keeps refusing every call (it must never go
    to the network unasked) until `%openai replay off`; a cache is only a saving, so it is off, said once."""
    if os.environ.get(REPLAY_ENV):
        raise UsageError(f"{REPLAY_ENV}: {exc} Nothing was sent; fix the variable, or `%openai replay off` "
                         "to use the network.") from None
    session.cache_from_env = False
    print(f"⚠ {CACHE_ENV}: {exc} The cache is off.", file=sys.stderr)
    return None


def use(session, cache: ResponseCache | None) -> None:
    """Make `cache` the session's (None: off), closing the one it replaces."""
    session.cache_from_env = False
    if session.cache is not None and session.cache is not cache:
        session.cache.close()
    session.cache = cache


@dataclass
class Lookup:
    """One request's place in the cache: its key, and the cached answer when there is one."""

    cache: ResponseCache | None
    key: str | None = None
    hit: dict | None = None

    def store(self, kind: str, model: str, value: dict) -> None:
        if self.cache is None or self.key is None or self.hit is not None:
            return
        with not_losing_the_answer(self.cache):
            self.cache.put(self.key, kind, model, value)


@contextmanager
def not_losing_the_answer(cache: ResponseCache):
    """A full disk or a file locked too long by another kernel must not cost a paid answer: say so, go on."""
    try:
        yield
    except sqlite3.Error as exc:
        if not getattr(exc, "said", False):
            print(f"⚠ Not cached: {cache.shown} could not be written ({exc}).", file=sys.stderr)


@contextmanager
def skipped_when_unreadable(cache: ResponseCache):
    """A file locked by another process (or unreadable) is not worth a wait: answered without the cache, said
    once. Replay mode never goes to the network instead: refused in one line."""
    try:
        yield
    except sqlite3.Error as exc:
        if cache.replay:
            raise UsageError(f"The replay file {cache.shown} could not be read ({exc}); nothing was sent.") from None
        if not getattr(exc, "said", False):
            print(f"⚠ Cache skipped: {cache.shown} could not be read ({exc}); answered without it.", file=sys.stderr)


def send_through_cache(session, call, api: str, params: dict, send, *, kind: str, enabled: bool = True,
            what: str = "") -> tuple[dict, bool]:
    """The one seam for a request whose answer is JSON: the cached answer when there is one (True), else
    what `send()` returns, stored for next time (False). Replay mode never calls `send`."""
    found = lookup(session, call, api, params, enabled=enabled, what=what)
    if found.hit is not None:
        return found.hit, True
    value = send()
    found.store(kind, str(params.get("model")), value)
    return value, False


def lookup(session, call, api: str, params: dict, *, enabled: bool = True, what: str = "") -> Lookup:
    """Find a request's answer. In replay mode a miss is a one-line UsageError naming the cell and the request,
    and nothing is sent. `enabled=False` (`--no-cache`) and, when the user asked so, sampled answers bypass it."""
    cache = current(session)
    if cache is None:
        return Lookup(None)
    if not enabled:
        check_bypass(session)
    sampled = api in SAMPLING_APIS and params.get("temperature", 1) != 0
    if not enabled or (sampled and not cache.sampled and not cache.replay):
        return Lookup(None)
    found = Lookup(cache, request_key(endpoint_of(session), api, params))
    with skipped_when_unreadable(cache):
        found.hit = cache.get(found.key)
    if found.hit is not None:
        cache.hits += 1
        return found
    cache.misses += 1
    if cache.replay:
        raise replay_miss(cache, (call.cell, call.cell_id), call.magic, params.get("model"), what)
    return found


def check_bypass(session) -> None:
    """`--no-cache` asks the API: refused in replay mode, which never goes to the network."""
    cache = current(session)
    if cache is not None and cache.replay:
        raise UsageError("Replay mode answers only from the cache: --no-cache would go to the network. "
                         "Leave replay with `%openai replay off`.")


def replay_miss(cache: ResponseCache, cell: tuple, magic: str, model, what: str) -> UsageError:
    """The one line a replay miss shows: which cell, which request, and that nothing was sent."""
    number, cell_id = cell
    where = (f"cell [{number}]" if number is not None else "this call") + (f" (id {cell_id})" if cell_id else "")
    return UsageError(f"Not in the replay cache {cache.shown}: {where} asks {magic} {model} {what}. "
                      f"Nothing was sent; record it once with `%openai cache on {cache.shown}` and a key.")


def stats_text(session, path: str | None = None) -> str:
    """What `%openai cache stats [PATH]` prints: the session's cache, or (read-only) the file at PATH."""
    cache = current(session)
    if path is not None and (cache is None or cache.shown != path):
        other = ResponseCache(path, replay=True)
        try:
            entries = other.stats().entries
        finally:
            other.close()
        return f"{path}: {holds_text(entries)}"
    if cache is None:
        return "cache: off (`%openai cache on [PATH]`)"
    s = cache.stats()
    from openai_magics.metering.pricing import format_usd

    return "\n".join([
        f"cache:    {cache.describe()}",
        f"session:  {s.hits:,} hit{'s' * (s.hits != 1)}, {s.misses:,} miss{'es' * (s.misses != 1)}, "
        f"{s.stored:,} stored, {saved_text(session.ledger)}",
    ])


def saved_text(ledger) -> str:
    """`$0.0012 saved`; `saved (price unknown)` when every hit was on a model of unknown price."""
    from openai_magics.metering.pricing import format_usd

    known, unknown = ledger.total_saved, ledger.unknown_saved
    if unknown and not known:
        return "saved (price unknown)"
    return f"{format_usd(known)} saved" + (f" (+{unknown:,} hit{'s' * (unknown != 1)} of unknown price)"
                                           if unknown else "")

