"""`%%embed --store PATH` / `openai_magics.embed(texts, store=PATH)`: vectors on disk, not in memory.

The store is a LanceDB database folder (embedded like SQLite, columnar Lance files, readable by other tools
and from object storage) holding one table: `id` (the text's position in the input), `text`, `digest` (of
the text) and `vector`. Texts are embedded and written a chunk at a time, so memory stays bounded whatever
their count; ids already stored with the same text are not asked again (a killed run resumes), and the
response cache, when on, still answers texts paid before. `search()` and `similarity()` run against the
store: exhaustive below `INDEX_FROM` rows, through an ANN index above (IVF-PQ: the partitions nearest the query
are read as compressed codes, and the best candidates re-ranked on their full vectors). LanceDB holds about
2.5× the vectors in memory while it builds an index, so a run builds one by itself only up to 1 GB of vectors;
beyond, `build_index()` does it when asked. Reopened from a fresh
session with `openai_magics.embed(store=PATH)` or `%embed --store PATH`.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from openai_magics.core.errors import UsageError

STORE_FILE = "openai_magics_store.json"
TABLE = "embeddings"
CHUNK = 4_096           # texts embedded and written at a time: 25 MB of 1,536-dimension vectors in memory
INDEX_FROM = 100_000    # below this many rows a search reads every vector (exact, and fast enough)
ROWS_PER_PARTITION = 4_096
TRAINED_ON = 32_768     # vectors the index's partitions and codes are trained on
AUTO_INDEX_BYTES = 1 << 30  # a run indexes a store of at most this many bytes of vectors by itself
NPROBES, REFINE = 24, 50  # partitions a search reads; candidates re-ranked per answer (benchmarks/store_search.py:
# at 1M clustered vectors 10 gave recall@10 0.56 whatever the partitions probed, 50 gave 1.0)


def _lancedb():
    os.environ.setdefault("LANCEDB_LOG", "error")  # not the Rust library's "creating a dataset" warnings
    os.environ.setdefault("LANCE_LOG", "error")
    import lancedb

    return lancedb


def digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=12).digest()


class VectorStore:
    """A store's table, its model and dimensions, and the figures of the run that last wrote to it."""

    def __init__(self, path: Path, model: str, dimensions: int | None, session=None):
        self.path, self.model, self.dimensions, self.session = path, model, dimensions, session
        self.records: list = []
        self.skipped = 0        # texts already in the store (not asked again)
        self.written = 0
        self._table = None

    # -- opening --
    @classmethod
    def open(cls, path, session=None) -> "VectorStore":
        """An existing store; one line when PATH is not one."""
        folder = Path(path).expanduser()
        try:
            said = json.loads((folder / STORE_FILE).read_text())
            model, dimensions = said["model"], said.get("dimensions")
        except (OSError, ValueError, KeyError, TypeError):
            what = "does not exist" if not folder.exists() else "is not a store `%%embed --store` wrote"
            raise UsageError(f"--store {path}: {what} (no {STORE_FILE}).") from None
        store = cls(folder, model, dimensions, session)
        if (folder / f"{TABLE}.lance").exists() and TABLE not in _table_names(store.db):
            raise UsageError(f"--store {path}: its {TABLE} table is not readable: not a whole store.")
        return store

    @classmethod
    def create_or_open(cls, path, model: str, dimensions: int | None, session=None) -> "VectorStore":
        folder = Path(path).expanduser()
        if folder.exists() and (folder / STORE_FILE).exists():
            store = cls.open(folder, session)
            if (store.model, store.dimensions) != (model, dimensions):
                raise UsageError(f"--store {path} holds {store.model} vectors"
                                 f"{f' of {store.dimensions} dimensions' if store.dimensions else ''}: embed "
                                 "with the same model and --dimensions, or choose another path.")
            return store
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise UsageError(f"--store {path}: something else is there (not a store `%%embed --store` wrote). "
                             "Choose another path.")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / STORE_FILE).write_text(json.dumps({"model": model, "dimensions": dimensions, "table": TABLE}))
        except OSError as exc:
            raise UsageError(f"--store {path}: cannot write there ({exc.strerror or exc}).") from None
        return cls(folder, model, dimensions, session)

    @property
    def db(self):
        return _lancedb().connect(str(self.path))

    @property
    def table(self):
        if self._table is None and TABLE in _table_names(self.db):
            self._table = self.db.open_table(TABLE)
        return self._table

    def __len__(self) -> int:
        return 0 if self.table is None else self.table.count_rows()

    def __getstate__(self) -> dict:
        """Pickled as where it is: the table is opened again, the session is the loader's."""
        return {**self.__dict__, "session": None, "_table": None}

    # -- writing --
    def stored(self) -> dict[int, bytes]:
        """id → digest of every row (to skip texts already written)."""
        if self.table is None:
            return {}
        found = self._rows(["id", "digest"]).read_all()
        return dict(zip(found.column("id").to_pylist(), found.column("digest").to_pylist()))

    def add(self, ids: list[int], texts: list[str], vectors) -> None:
        import numpy as np
        import pyarrow as pa

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        data = pa.table({"id": pa.array(ids, pa.int64()), "text": pa.array(texts, pa.string()),
                         "digest": pa.array([digest(t) for t in texts], pa.binary(12)),
                         "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), vectors.shape[1])})
        if self.table is None:
            self._table = self.db.create_table(TABLE, data=data)
        else:
            self.table.add(data)
        self.written += len(ids)

    def index(self) -> bool:
        """After a run: an ANN index once the store is large enough to need one and small enough to build it
        here (LanceDB holds about 2.5× the vectors in memory while it builds), made again when the store has
        doubled since (rows added after it are searched exhaustively beside it until then). A larger store
        is left for `build_index()`, which its summary names."""
        rows = len(self)
        said = json.loads((self.path / STORE_FILE).read_text())
        if rows < INDEX_FROM or (self.indexed and rows < 2 * said.get("indexed_rows", 0)):
            return False
        if rows * self._width() * 4 > AUTO_INDEX_BYTES:
            return False
        return self.build_index()

    def build_index(self) -> bool:
        """The ANN index (IVF-PQ, trained on a sample), made now whatever the store's size: it needs about
        2.5× the vectors' bytes of memory while it builds."""
        if self.table is None:
            raise UsageError(f"The store {self.path} is empty: nothing to index.")
        rows, width = len(self), self._width()
        partitions = max(1, rows // ROWS_PER_PARTITION)
        sub_vectors = next(n for n in (width // 16, width // 8, width // 4, width // 2, width) if n and width % n == 0)
        self.table.create_index(metric="cosine", index_type="IVF_PQ", num_partitions=partitions,
                                num_sub_vectors=sub_vectors, sample_rate=max(1, TRAINED_ON // partitions),
                                replace=True)
        said = json.loads((self.path / STORE_FILE).read_text())
        (self.path / STORE_FILE).write_text(json.dumps({**said, "indexed_rows": rows}))
        return True

    def _width(self) -> int:
        return self.table.schema.field("vector").type.list_size

    @property
    def indexed(self) -> bool:
        return bool(self.table is not None and self.table.list_indices())

    # -- reading --
    def _query(self, query):
        import numpy as np

        if isinstance(query, str) or isinstance(query, (list, tuple)) and all(isinstance(q, str) for q in query):
            if isinstance(query, str) and not query.strip():
                raise UsageError("Nothing to search for: the query is empty.")
            from openai_magics.core.session import session as current_session
            from openai_magics.embed.engine import run_embed
            from openai_magics.embed.request import EmbedRequest, as_texts

            request = EmbedRequest(as_texts(query, "the query"), self.model, self.dimensions)
            return np.atleast_2d(run_embed(self.session or current_session(), request).vectors)
        return np.atleast_2d(np.asarray(getattr(query, "vectors", query), dtype=np.float32))

    def search(self, query, k: int = 5):
        """The k stored texts nearest the query, nearest first (a DataFrame: index = id, text, score)."""
        import pandas as pd

        if k < 1:
            raise UsageError(f"k must be positive, not {k}.")
        if self.table is None:
            raise UsageError(f"The store {self.path} is empty: nothing to search.")
        vector = self._query(query)[0]
        found = self.table.search(vector).distance_type("cosine").limit(k)
        if self.indexed:
            found = found.nprobes(NPROBES).refine_factor(REFINE)
        hits = found.to_arrow()
        return pd.DataFrame({"text": hits.column("text").to_pylist(),
                             "score": [round(1 - d, 4) for d in hits.column("_distance").to_pylist()]},
                            index=pd.Index(hits.column("id").to_pylist(), name="id"))

    def similarity(self, other, ids=None):
        """Cosine similarities of the stored rows (all, or `ids`, in id order) with `other` (texts, a result,
        vectors): n × m, read a chunk of rows at a time."""
        import numpy as np

        from openai_magics.embed.result import _unit

        b = _unit(self._query(other))
        where = f"id IN ({', '.join(str(int(i)) for i in ids)})" if ids is not None else None
        parts, order = [], []
        for batch in self._rows(["id", "vector"], where):
            width = batch.schema.field("vector").type.list_size
            vectors = batch.column("vector").flatten().to_numpy(zero_copy_only=False).reshape(-1, width)
            parts.append(_unit(vectors) @ b.T)
            order.append(batch.column("id").to_numpy())
        if not parts:
            return np.zeros((0, len(b)), dtype=np.float32)
        ids_read = np.concatenate(order)
        return np.concatenate(parts)[np.argsort(ids_read, kind="stable")]

    def to_pandas(self, with_vectors: bool = False):
        columns = ["id", "text"] + (["vector"] if with_vectors else [])
        return self._rows(columns).read_all().to_pandas().sort_values("id").set_index("id")

    def _rows(self, columns: list[str], where: str | None = None):
        """The table's rows (these columns), a chunk at a time (a pyarrow RecordBatchReader)."""
        query = self.table.search().select(columns).limit(None)
        return (query.where(where) if where else query).to_batches(CHUNK)

    # -- display --
    @property
    def summary(self) -> str:
        rows = len(self)
        parts = [f"VectorStore {self.path}: {rows:,} text{'s' * (rows != 1)} · {self.model}"
                 + (f" · {self.dimensions} dimensions" if self.dimensions else "")
                 + (" · ANN index" if self.indexed else self._unindexed())]
        if self.written or self.skipped:
            parts.append(f"{self.written:,} written now" + (f", {self.skipped:,} already stored (not asked again)"
                                                           if self.skipped else ""))
        if self.records:
            from openai_magics.metering.pricing import format_usd

            cost = None if any(r.cost is None for r in self.records) else sum(r.cost for r in self.records)
            tokens = sum(r.usage.input_tokens for r in self.records)
            parts.append(f"{tokens:,} tokens · {format_usd(cost)}")
        return " · ".join(parts)

    def _unindexed(self) -> str:
        if self.table is None or len(self) < INDEX_FROM:
            return ""
        return (f" · no ANN index (searches read every vector): `.build_index()` makes one, holding about "
                f"{len(self) * self._width() * 4 * 2.5 / 2**30:,.1f} GB while it builds")

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self.summary)

    def __repr__(self) -> str:
        return f"<{self.summary}>"


def _table_names(db) -> list[str]:
    names = db.list_tables() if hasattr(db, "list_tables") else db.table_names()
    return list(getattr(names, "tables", names))


def chunks_of(texts, what: str):
    """(ids, texts) a chunk at a time, from a list, a Series or a column of a Parquet file (`path`, `column`)."""
    from openai_magics.embed.request import as_texts

    if isinstance(texts, tuple) and len(texts) == 2 and isinstance(texts[0], Path):
        yield from _parquet_chunks(*texts)
        return
    texts = as_texts(texts, what)
    for start in range(0, len(texts), CHUNK):
        yield list(range(start, start + len(texts[start:start + CHUNK]))), texts[start:start + CHUNK]


def _parquet_chunks(path: Path, column: str):
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(path)
    except Exception as exc:  # not Parquet, unreadable: one line
        raise UsageError(f"--input {path}: not a readable Parquet file ({type(exc).__name__}).") from None
    if column not in source.schema_arrow.names:
        raise UsageError(f"--input {path} has no column {column!r} (it has {', '.join(source.schema_arrow.names)}): "
                         "name one with --column.")
    start = 0
    for batch in source.iter_batches(columns=[column], batch_size=CHUNK):
        from openai_magics.embed.request import as_texts

        texts = as_texts(batch.column(0).to_pylist(), f"{path} ({column}, from row {start:,})")
        yield list(range(start, start + len(texts))), texts
        start += len(texts)


def embed_to_store(session, texts, path, request_of, *, what: str = "the input", progress=None) -> VectorStore:
    """Embed `texts` into the store at `path` a chunk at a time. `request_of(texts)` makes the chunk's
    EmbedRequest (model, dimensions, options as the user gave them)."""
    from openai_magics.cache.policy import current
    from openai_magics.cache.vectors import PersistentVectors
    from openai_magics.core.memory import return_large_buffers
    from openai_magics.embed.engine import run_embed
    from openai_magics.embed.rows import VectorCache

    from itertools import chain

    return_large_buffers()  # else freed answers stay in the worker threads' heaps, and memory grows with the run
    first = request_of(["probe"])
    chunks = chunks_of(texts, what)
    opening = next(chunks, None)  # a bad input is said before the store is made
    store = VectorStore.create_or_open(path, first.model, first.dimensions, session)
    stored = store.stored()
    for ids, chunk in chain([opening] if opening else [], chunks):
        wanted = [(i, t) for i, t in zip(ids, chunk) if stored.get(i) != digest(t)]
        if any(i in stored for i, _ in wanted):
            raise UsageError(f"--store {path} holds other texts under ids {[i for i, _ in wanted if i in stored][:3]}: "
                             "it was written from another input. Choose another path.")
        store.skipped += len(chunk) - len(wanted)
        if not wanted:
            continue
        request = request_of([t for _, t in wanted])
        memory = VectorCache()  # this chunk's alone: the vectors go to disk, not the session's memory
        cache = PersistentVectors(session, memory) if request.cache and current(session) is not None else memory
        result = run_embed(session, request, progress, kept=cache)
        store.records.extend(result.records)
        store.add([i for i, _ in wanted], request.texts, result.vectors)
        del result
    store.index()
    return store
