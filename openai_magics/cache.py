"""The persistent response cache and replay mode (SPEC §7): notebooks re-run for free.

One SQLite file (standard library). The key is the SHA-256 of the normalised request: where it goes
(endpoint and API) and every parameter that changes the answer, never the key or headers. The value is
the response (JSON, or float32 bytes for an embedding). While in use the file is in WAL mode, so two
kernels can share it; closed by its last user it goes back to a single self-contained file that can
ship beside a notebook and be replayed read-only. A damaged file is set aside with a warning.
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import sqlite3
import sys
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

CACHE_ENV, REPLAY_ENV = "OPENAI_MAGICS_CACHE", "OPENAI_MAGICS_REPLAY"
# Sent with a request but without effect on the answer.
NOT_IN_KEY = frozenset({"stream", "stream_options", "user", "timeout", "extra_headers", "extra_query",
                        "metadata", "store", "service_tier"})
SAMPLING_APIS = frozenset({"chat", "responses"})  # answers drawn at a temperature (default 1)
CORRUPT = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
SCHEMA = """CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,   -- sha256 of the normalised request
    kind TEXT NOT NULL,     -- chat | embed
    model TEXT NOT NULL,    -- the model asked for
    body BLOB NOT NULL,     -- the response: JSON, or float32 bytes of a vector
    created REAL NOT NULL
)"""


def default_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "openai-magics" / "responses.sqlite"


def request_key(endpoint: str, api: str, params: dict) -> str:
    """SHA-256 of the request normalised: sorted keys, no None values, nothing that does not change the answer."""
    body = {k: _plain(v) for k, v in params.items() if k not in NOT_IN_KEY and v is not None}
    text = json.dumps({"endpoint": endpoint, "api": api, "request": body}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value):
    """JSON-able form of a request value; a pydantic model class (a schema) by its JSON schema."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, type) and hasattr(value, "model_json_schema"):
        return value.model_json_schema()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


def endpoint_of(session) -> str:
    """Which server answers: the offline server's answers are keyed as such, whatever its port."""
    return "offline" if session.config.offline else session.base_url


@dataclass
class CacheStats:
    entries: dict = field(default_factory=dict)   # kind -> count, in the file
    hits: int = 0                                 # the rest: this session
    misses: int = 0
    stored: int = 0


class ResponseCache:
    """`get`/`put` by request key; `replay=True` opens the file read-only and answers only from it."""

    def __init__(self, path: str | os.PathLike | None = None, *, replay: bool = False, sampled: bool = True):
        self.path = Path(path).expanduser() if path else default_path()
        self.shown = str(path) if path else str(self.path)  # as the user wrote it (notebook outputs stay stable)
        self.replay, self.sampled = replay, sampled
        self.hits = self.misses = self.stored = 0
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._inode = None  # of the file we have open: another kernel may set it aside and start afresh
        if replay and not self.path.is_file():
            raise UsageError(f"No cache file at {self.shown} to replay from.")
        self._open()

    # -- the file --
    def _open(self) -> None:
        _open_caches.add(self)
        try:
            self._conn = self._connect()
        except sqlite3.DatabaseError as exc:
            if not _is_corrupt(exc):
                raise
            self._set_aside(exc)
            self._conn = self._connect()

    def _connect(self) -> sqlite3.Connection:
        if self.replay:
            uri = f"{self.path.resolve().as_uri()}?mode=ro" if self.path.is_file() else "file::memory:"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            if self.path.is_file() and conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("database disk image is malformed")
            if not self.path.is_file():
                conn.execute(SCHEMA)
            return conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA journal_mode = WAL")   # readers never block the writer, two kernels can share
            conn.execute("PRAGMA synchronous = NORMAL")  # durable enough for a cache, and fast
            conn.execute(SCHEMA)
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("database disk image is malformed")
        except BaseException:
            conn.close()
            raise
        self._inode = self.path.stat().st_ino
        return conn

    def _moved(self) -> bool:
        """True when the file at our path is no longer the one we have open (set aside by another kernel)."""
        if self._inode is None:
            return False
        try:
            return self.path.stat().st_ino != self._inode
        except FileNotFoundError:
            return True

    def _set_aside(self, exc: Exception) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):  # a stale WAL would be replayed into the fresh file
            part = Path(f"{self.path}{suffix}")
            if part.exists():
                part.replace(f"{aside}{suffix}")
        # Straight to stderr: a warnings filter must not hide it the second time.
        print(f"⚠ The cache file {self.shown} was damaged ({exc}); it was set aside as {aside.name} "
              "and the cache starts afresh.", file=sys.stderr)

    def _run(self, sql: str, args=(), many: bool = False):
        """Run one statement; a file damaged while in use is set aside and the statement tried once more."""
        with self._lock:
            if self._conn is None or self._moved():  # closed meanwhile, or set aside by another kernel
                if self._conn is not None:
                    self._conn.close()
                self._open()
            for attempt in (1, 2):
                try:
                    if many:
                        with _transaction(self._conn):
                            self._conn.executemany(sql, args)
                        return None
                    return self._conn.execute(sql, args).fetchall()
                except sqlite3.DatabaseError as exc:
                    if attempt == 2 or not _is_corrupt(exc):
                        raise
                    self._set_aside(exc)
                    self._open()

    def close(self) -> None:
        """Close; the last user of the file turns it back into one self-contained file."""
        with self._lock:
            if self._conn is None:
                return
            if not self.replay:
                try:
                    self._conn.execute("PRAGMA journal_mode = DELETE")  # refused while another kernel has it open
                except sqlite3.OperationalError:
                    pass
            self._conn.close()
            self._conn = None
            _open_caches.discard(self)

    # -- answers --
    def get(self, key: str) -> dict | None:
        rows = self._run("SELECT body FROM responses WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else None

    def put(self, key: str, kind: str, model: str, value: dict) -> None:
        if self.replay:
            return
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        self._run("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)", (key, kind, model, body, time.time()))
        self.stored += 1

    def get_vectors(self, keys: list[str]) -> dict[str, bytes]:
        """Cached embeddings (float32 bytes) of the keys that have one."""
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), 500):  # SQLite caps the number of parameters
            part = keys[start:start + 500]
            rows = self._run(f"SELECT key, body FROM responses WHERE key IN ({','.join('?' * len(part))})", part)
            found.update((k, bytes(b)) for k, b in rows)
        return found

    def put_vectors(self, model: str, vectors: dict[str, bytes]) -> None:
        if self.replay or not vectors:
            return
        now = time.time()
        self._run("INSERT OR REPLACE INTO responses VALUES (?, 'embed', ?, ?, ?)",
                  [(k, model, v, now) for k, v in vectors.items()], many=True)
        self.stored += len(vectors)

    def clear(self) -> dict:
        """Empty the file; what it held, by kind."""
        if self.replay:
            raise UsageError(f"{self.shown} is open for replay (read-only): turn replay off to clear it.")
        held = self.stats().entries
        self._run("DELETE FROM responses")
        self._run("VACUUM")
        return held

    # -- what it holds --
    def stats(self) -> CacheStats:
        entries = dict(self._run("SELECT kind, count(*) FROM responses GROUP BY kind ORDER BY kind"))
        return CacheStats(entries, self.hits, self.misses, self.stored)

    def describe(self) -> str:
        mode = "replay only (never the network)" if self.replay else "on"
        sampled = "" if self.sampled or self.replay else "; temperature 0 only"
        return f"{mode}, {self.shown} ({holds_text(self.stats().entries)}{sampled})"

    def __repr__(self) -> str:
        return f"<ResponseCache {self.describe()}>"


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in CORRUPT or "malformed" in str(exc)


class _transaction:
    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, *rest):
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")


_open_caches: "weakref.WeakSet[ResponseCache]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for cache in list(_open_caches):
        cache.close()


# -- the session's side --
def from_env(environ=None) -> ResponseCache | None:
    """`OPENAI_MAGICS_REPLAY=PATH` (replay) or `OPENAI_MAGICS_CACHE=PATH` (cache on), for headless runs."""
    env = os.environ if environ is None else environ
    if env.get(REPLAY_ENV):
        return ResponseCache(env[REPLAY_ENV], replay=True)
    if env.get(CACHE_ENV):
        return ResponseCache(env[CACHE_ENV])
    return None


def use(session, cache: ResponseCache | None) -> None:
    """Make `cache` the session's (None: off), closing the one it replaces."""
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
        with _not_losing_the_answer(self.cache):
            self.cache.put(self.key, kind, model, value)


@contextmanager
def _not_losing_the_answer(cache: ResponseCache):
    """A full disk or a file locked too long by another kernel must not cost a paid answer: say so, go on."""
    try:
        yield
    except sqlite3.Error as exc:
        print(f"⚠ Not cached: {cache.shown} could not be written ({exc}).", file=sys.stderr)


def lookup(session, call, api: str, params: dict, *, enabled: bool = True, what: str = "") -> Lookup:
    """Find a request's answer. In replay mode a miss is a one-line UsageError naming the cell and the request,
    and nothing is sent. `enabled=False` (`--no-cache`) and, when the user asked so, sampled answers bypass it."""
    cache = session.cache
    if cache is None:
        return Lookup(None)
    if not enabled:
        check_bypass(session)
    sampled = api in SAMPLING_APIS and params.get("temperature", 1) != 0
    if not enabled or (sampled and not cache.sampled and not cache.replay):
        return Lookup(None)
    found = Lookup(cache, request_key(endpoint_of(session), api, params))
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
    if session.cache is not None and session.cache.replay:
        raise UsageError("Replay mode answers only from the cache: --no-cache would go to the network. "
                         "Leave replay with `%openai replay off`.")


def replay_miss(cache: ResponseCache, cell: tuple, magic: str, model, what: str) -> UsageError:
    """The one line a replay miss shows: which cell, which request, and that nothing was sent."""
    number, cell_id = cell
    where = (f"cell [{number}]" if number is not None else "this call") + (f" (id {cell_id})" if cell_id else "")
    return UsageError(f"Not in the replay cache {cache.shown}: {where} asks {magic} {model} {what}. "
                      f"Nothing was sent; record it once with `%openai cache on {cache.shown}` and a key.")


class PersistentVectors:
    """Embeddings by (endpoint, model, dimensions, text): the session's vectors first, then the file.

    Stands in for the embedding engine's session cache (same `get_many`/`put_many`).
    """

    def __init__(self, session, memory):
        self.session, self.memory, self.cache = session, memory, session.cache
        self._missed: set[str] = set()  # the engine asks again after truncating: count a miss once

    def _key(self, model: str, dimensions: int | None, text: str) -> str:
        params = {"model": model, "dimensions": dimensions, "input": text}
        return request_key(endpoint_of(self.session), "embeddings", params)

    def get_many(self, model: str, dimensions: int | None, texts: list[str]) -> dict:
        import numpy as np

        found = self.memory.get_many(model, dimensions, texts)
        keys = {self._key(model, dimensions, t): t for t in texts if t not in found}
        stored = self.cache.get_vectors(list(keys))
        fresh = {keys[k]: np.frombuffer(v, dtype="<f4") for k, v in stored.items()}
        if fresh:
            self.memory.put_many(model, dimensions, list(fresh), list(fresh.values()))
        missed = set(keys) - set(stored) - self._missed
        self._missed |= missed
        self.cache.hits += len(found) + len(fresh)
        self.cache.misses += len(missed)
        return {**found, **fresh}

    def put_many(self, model: str, dimensions: int | None, texts: list[str], vectors) -> None:
        import numpy as np

        self.memory.put_many(model, dimensions, texts, vectors)
        blobs = {self._key(model, dimensions, t): np.asarray(v, dtype="<f4").tobytes() for t, v in zip(texts, vectors)}
        with _not_losing_the_answer(self.cache):
            self.cache.put_vectors(model, blobs)

    def before_sending(self, model: str, texts: list[str]) -> None:
        """In replay mode nothing goes to the network: texts still missing are a miss."""
        if self.cache.replay and texts:
            from .session import current_cell

            more = f" and {len(texts) - 1:,} more text{'s' * (len(texts) != 2)}" if len(texts) > 1 else ""
            raise replay_miss(self.cache, current_cell(), "embed", model, preview(texts[0]) + more)


def preview(text: str, words: int = 8) -> str:
    """The first words of a prompt, quoted, to name a request in one line."""
    head = " ".join(text.split()[:words])
    return f"“{head}{'…' if len(text.split()) > words else ''}”"


def stats_text(session, path: str | None = None) -> str:
    """What `%openai cache stats [PATH]` prints: the session's cache, or (read-only) the file at PATH."""
    cache = session.cache
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
    from .prices import format_usd

    return "\n".join([
        f"cache:    {cache.describe()}",
        f"session:  {s.hits:,} hit{'s' * (s.hits != 1)}, {s.misses:,} miss{'es' * (s.misses != 1)}, "
        f"{s.stored:,} stored, {format_usd(session.ledger.total_saved)} saved",
    ])


def holds_text(entries: dict) -> str:
    """`{"chat": 2, "embed": 1}` → "2 chat answers, 1 embedding"."""
    names = {"chat": ("chat answer", "chat answers"), "embed": ("embedding", "embeddings")}
    parts = [f"{n:,} {names.get(kind, (kind, kind))[n != 1]}" for kind, n in entries.items()]
    return ", ".join(parts) or "empty"
