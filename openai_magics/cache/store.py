"""The cache's file: one SQLite database (standard library) of answers by request key.

While in use the file is in WAL mode, so two kernels can share it; closed by its last user it goes back to
a single self-contained file that can ship beside a notebook and be replayed read-only. A damaged file is
set aside with a warning.
"""
from __future__ import annotations

import atexit
import json
import os
import sqlite3
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from openai_magics.cache.keys import keys_digest
from openai_magics.core.config import cache_home
from openai_magics.core.errors import UsageError

CORRUPT = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
LOCK_WAIT = 1.0     # seconds to wait for another kernel's lock (a writer holds it for milliseconds) before
SKIP_FOR = 60.0     # going on without the cache, which is then skipped this long: no cell waits for it again
SAY_WAITING = 1.0   # seconds of waiting before saying what we wait for
BUSY_SLICE_MS = 200  # SQLite waits this long per try; between tries we decide whether to say or give up


SCHEMA = """CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,   -- sha256 of the normalised request
    kind TEXT NOT NULL,     -- chat | embed
    model TEXT NOT NULL,    -- the model asked for
    body BLOB NOT NULL,     -- the response: JSON (float32 bytes of one vector in files written before blocks)
    created REAL NOT NULL
)"""
# Embeddings: the vectors of one request side by side in one block (a text's entry costs its key and two
# numbers beside its vector, and reading many back reads a few long blobs), found by each text's key.
VECTOR_SCHEMA = ["""CREATE TABLE IF NOT EXISTS vector_blocks (
    id INTEGER PRIMARY KEY,
    model TEXT NOT NULL,
    width INTEGER NOT NULL, -- float32 values per vector
    tokens INTEGER,         -- billed for the request's texts (NULL: not known exactly)
    data BLOB NOT NULL,     -- the vectors, row after row
    created REAL NOT NULL,
    first_key TEXT,         -- the key of its first row, and the digest of all its keys in row order: a re-run
    keys_digest TEXT        -- of the same texts finds whole blocks without a lookup per text (NULL: older file)
)""", """CREATE TABLE IF NOT EXISTS vectors (
    key TEXT PRIMARY KEY,   -- sha256 of the normalised request for one text
    block INTEGER NOT NULL,
    row INTEGER NOT NULL
) WITHOUT ROWID"""]
# Model versions: the snapshot each alias first answered as, so a re-run with this file can send it again.
PIN_SCHEMA = """CREATE TABLE IF NOT EXISTS pins (
    alias TEXT PRIMARY KEY, -- the name asked for (gpt-4o-mini)
    snapshot TEXT NOT NULL, -- the dated model that first answered it (gpt-4o-mini-2024-07-18)
    created REAL NOT NULL
)"""
MMAP_BYTES = 2**31 - 2**16  # as much of the file as SQLite maps by default at most
BLOCK_COLUMNS = ("first_key TEXT", "keys_digest TEXT")  # added to files written before whole-block lookups
LOOKUP_PARAMS = 500  # SQLite caps the number of parameters of one statement


def default_path() -> Path:
    return cache_home() / "responses.sqlite"


@dataclass
class CacheStats:
    entries: dict = field(default_factory=dict)   # kind -> count, in the file
    hits: int = 0                                 # the rest: this session
    misses: int = 0
    stored: int = 0


class CacheLocked(sqlite3.OperationalError):
    """Another kernel or process holds the file beyond `lock_wait`: the cache is skipped for `SKIP_FOR` s.
    `said`: what this one would say was already said (only the first give-up of a while is shown)."""

    said = False


class ResponseCache:
    """`get`/`put` by request key; `replay=True` opens the file read-only and answers only from it."""

    def __init__(self, path: str | os.PathLike | None = None, *, replay: bool = False, sampled: bool = True):
        self.path = Path(path).expanduser() if path else default_path()
        self.shown = str(path) if path else str(self.path)  # as the user wrote it (notebook outputs stay stable)
        self.replay, self.sampled = replay, sampled
        self.hits = self.misses = self.stored = 0
        self.lock_wait = LOCK_WAIT
        self._skip_until = 0.0  # a locked file is skipped until then (time.monotonic)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._inode = None  # of the file we have open: another kernel may set it aside and start afresh
        self._blocks = False  # the file has the vector tables (a file from before them, replayed, does not)
        self._whole_blocks = False  # and its blocks say their first key and keys' digest
        self._pins = False  # the file has the pins table (a file from before pins, replayed, does not)
        if replay and not self.path.is_file():
            raise UsageError(f"No cache file at {self.shown} to replay from.")
        try:
            self._open()
        except (sqlite3.Error, OSError) as exc:
            _open_caches.discard(self)
            raise UsageError(f"Cannot use {self.shown} as the cache file ({exc}). "
                             "Pick another path: `%openai cache on PATH`.") from None

    # -- the file --
    def _open(self) -> None:
        _open_caches.add(self)
        try:
            self._conn = self._connect()
        except sqlite3.DatabaseError as exc:
            if not _is_corrupt(exc):
                raise
            if self.replay:  # a file that shipped beside a notebook stays where it is
                raise UsageError(f"The replay file {self.shown} is damaged ({exc}); it was left as it is. "
                                 "Replace it with a good copy, or `%openai replay off`.") from None
            self._set_aside(exc)
            self._conn = self._connect()

    def _connect(self) -> sqlite3.Connection:
        if self.replay:
            uri = f"{self.path.resolve().as_uri()}?mode=ro" if self.path.is_file() else "file::memory:"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            if self.path.is_file() and conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("database disk image is malformed")
            if not self.path.is_file():
                for statement in [SCHEMA, *VECTOR_SCHEMA, PIN_SCHEMA]:
                    conn.execute(statement)
            self._pins = _has_table(conn, "pins")
            self._blocks = _has_table(conn, "vectors")
            self._whole_blocks = self._blocks and _has_column(conn, "vector_blocks", "first_key")
            conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            return conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_SLICE_MS / 1000, check_same_thread=False,
                               isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_SLICE_MS}")
            # readers never block the writer, two kernels can share
            self._patiently(lambda: conn.execute("PRAGMA journal_mode = WAL"))
            conn.execute("PRAGMA synchronous = NORMAL")  # durable enough for a cache, and fast
            conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")  # vectors read back without a read() per page
            for statement in [SCHEMA, *VECTOR_SCHEMA, PIN_SCHEMA]:
                self._patiently(lambda: conn.execute(statement))
            self._patiently(lambda: _index_block_starts(conn))
            self._blocks = self._whole_blocks = self._pins = True
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
        if many:
            def write(conn):
                conn.executemany(sql, args)

            return self._use(write, write=True)
        return self._use(lambda conn: conn.execute(sql, args).fetchall())

    def _use(self, work, write: bool = False):
        """`work(connection)`, in one transaction when it writes; a file damaged while in use is set aside
        and the work tried once more."""
        with self._lock:
            if self._conn is None or self._moved():  # closed meanwhile, or set aside by another kernel
                if self._conn is not None:
                    self._conn.close()
                self._open()
            for attempt in (1, 2):
                try:
                    if write:
                        def transaction():
                            with _transaction(self._conn):
                                return work(self._conn)
                        return self._patiently(transaction)
                    return self._patiently(lambda: work(self._conn))
                except sqlite3.DatabaseError as exc:
                    if attempt == 2 or not _is_corrupt(exc):
                        raise
                    self._set_aside(exc)
                    self._open()

    def _patiently(self, step):
        """Run `step`; while another kernel holds the file's write lock, wait (saying so after a moment, on
        stderr) up to `lock_wait` seconds, then give up with an error that says what blocked it."""
        started, said = time.monotonic(), False
        if started < self._skip_until:
            skipped = CacheLocked(f"{self.shown} is locked by another kernel or process; the cache is skipped")
            skipped.said = True
            raise skipped
        while True:
            try:
                return step()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                waited = time.monotonic() - started
                if waited >= self.lock_wait:
                    self._skip_until = time.monotonic() + SKIP_FOR
                    raise CacheLocked(
                        f"database is locked: another kernel or process held it for {waited:.1f} s; the cache is "
                        f"skipped for the next {SKIP_FOR:g} s") from None
                if not said and waited >= min(SAY_WAITING, self.lock_wait / 2):
                    said = True
                    print(f"⏳ Waiting for the cache file {self.shown}: another kernel or process is writing to "
                          f"it (up to {self.lock_wait:g} s, then going on without the cache)…", file=sys.stderr)

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

    # -- model versions --
    def pins(self) -> dict[str, str]:
        """alias → the snapshot that first answered it, as kept in the file. Not waited for either: while another
        kernel holds the file, none (the session keeps its own), and the answer that asked is not lost."""
        if not self._pins or self._conn is None:
            return {}
        with self._lock:
            try:
                return dict(self._conn.execute("SELECT alias, snapshot FROM pins"))
            except sqlite3.Error:
                return {}

    def pin(self, alias: str, snapshot: str) -> None:
        """Keep the snapshot an alias first answered as; the first one kept stays. Not waited for: while another
        kernel writes to the file the pin stays in this session only (an answer is worth waiting for, not this)."""
        if self.replay or self._conn is None:
            return
        with self._lock:
            try:
                self._conn.execute("INSERT OR IGNORE INTO pins VALUES (?, ?, ?)", (alias, snapshot, time.time()))
            except sqlite3.Error:
                pass

    def find_vectors(self, keys: list[str]) -> dict[str, tuple[int, int]]:
        """Where the cached embeddings of these keys are: key → (block, row)."""
        if not self._blocks:
            return {}
        found: dict[str, tuple[int, int]] = {}
        for start in range(0, len(keys), LOOKUP_PARAMS):
            part = keys[start:start + LOOKUP_PARAMS]
            rows = self._run(f"SELECT key, block, row FROM vectors WHERE key IN ({','.join('?' * len(part))})", part)
            found.update((k, (b, r)) for k, b, r in rows)
        return found

    def blocks_starting(self, keys: list[str]) -> dict[str, list[tuple[int, int, str]]]:
        """The blocks whose first row is one of these keys: first key → [(block, rows, keys' digest)], newest
        first."""
        if not self._whole_blocks:
            return {}
        found: dict[str, list[tuple[int, int, str]]] = {}
        for start in range(0, len(keys), LOOKUP_PARAMS):
            part = keys[start:start + LOOKUP_PARAMS]
            rows = self._run("SELECT first_key, id, length(data) / (4 * width), keys_digest FROM vector_blocks "
                             f"WHERE first_key IN ({','.join('?' * len(part))}) ORDER BY id DESC", part)
            for first, block, count, digest in rows:
                found.setdefault(first, []).append((block, count, digest))
        return found

    def vector_block(self, block: int) -> tuple[int, int | None, bytes]:
        """A block's vector length, the tokens billed for it, and its float32 bytes."""
        [(width, tokens, data)] = self._run("SELECT width, tokens, data FROM vector_blocks WHERE id = ?", (block,))
        return width, tokens, data

    def put_vector_block(self, model: str, keys: list[str], data, width: int, tokens: int | None = None) -> None:
        """Store the vectors of one request's `keys` (float32 bytes, a row of `width` values per key, in order)
        and the tokens billed for them."""
        if self.replay or not keys:
            return

        def write(conn):
            block = conn.execute("INSERT INTO vector_blocks (model, width, tokens, data, created, first_key, "
                                 "keys_digest) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (model, width, tokens, data, time.time(), keys[0], keys_digest(keys))).lastrowid
            conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                             ((key, block, row) for row, key in enumerate(keys)))

        self._use(write, write=True)
        self.stored += len(keys)

    def get_vectors(self, keys: list[str]) -> dict[str, bytes]:
        """Embeddings stored one per entry, as files written before blocks have them: float32 bytes by key."""
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), LOOKUP_PARAMS):
            part = keys[start:start + LOOKUP_PARAMS]
            rows = self._run(f"SELECT key, body FROM responses WHERE kind = 'embed' AND key IN "
                             f"({','.join('?' * len(part))})", part)
            found.update((k, bytes(b)) for k, b in rows)
        return found

    def clear(self) -> dict:
        """Empty the file; what it held, by kind."""
        if self.replay:
            raise UsageError(f"{self.shown} is open for replay (read-only): turn replay off to clear it.")
        held = self.stats().entries
        self._run("DELETE FROM responses")
        self._run("DELETE FROM vectors")
        self._run("DELETE FROM vector_blocks")
        self._run("DELETE FROM pins")
        self._run("VACUUM")
        return held

    # -- what it holds --
    def stats(self) -> CacheStats:
        entries = dict(self._run("SELECT kind, count(*) FROM responses GROUP BY kind ORDER BY kind"))
        vectors = self._run("SELECT count(*) FROM vectors")[0][0] if self._blocks else 0
        if vectors:
            entries = dict(sorted({**entries, "embed": entries.get("embed", 0) + vectors}.items()))
        return CacheStats(entries, self.hits, self.misses, self.stored)

    def describe(self) -> str:
        mode = "replay only (never the network)" if self.replay else "on"
        sampled = "" if self.sampled or self.replay else "; temperature 0 only"
        return f"{mode}, {self.shown} ({holds_text(self.stats().entries)}{sampled})"

    def __repr__(self) -> str:
        return f"<ResponseCache {self.describe()}>"


def _index_block_starts(conn: sqlite3.Connection) -> None:
    """Blocks found by their first key; a file from before gets the columns (empty for its older blocks)."""
    for column in BLOCK_COLUMNS:
        if not _has_column(conn, "vector_blocks", column.split()[0]):
            conn.execute(f"ALTER TABLE vector_blocks ADD COLUMN {column}")
    conn.execute("CREATE INDEX IF NOT EXISTS vector_blocks_first_key ON vector_blocks (first_key)")


def _has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    return any(row[1] == column for row in conn.execute(f"PRAGMA table_info({table})"))


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


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


def holds_text(entries: dict) -> str:
    """`{"chat": 2, "embed": 1}` → "2 chat answers, 1 embedding"."""
    names = {"chat": ("chat answer", "chat answers"), "embed": ("embedding", "embeddings")}
    parts = [f"{n:,} {names.get(kind, (kind, kind))[n != 1]}" for kind, n in entries.items()]
    return ", ".join(parts) or "empty"

