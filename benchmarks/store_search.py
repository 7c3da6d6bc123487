"""Search in an `%%embed --store` store against numpy brute force over the same vectors in memory.

N unit vectors (default 1,000,000 × 1,536) are generated directly, not embedded (the offline server would
take hours to embed a million texts on a small machine): a mixture of 2,000 clusters with noise, so that
neighbours exist as they do among real embeddings. They are written to a store a chunk at a time, its ANN
index built with `build_index()` (IVF-PQ, as `%%embed --store` builds it), the RSS before and the peak while it builds said; then 200 queries (stored vectors with noise added) are searched
through `VectorStore.search` (k=10) and by brute force (one matrix product and a partial sort). Prints
p50/p95 of each, their ratio, and recall@10 of the store's answers against brute force's. The store (N × dimensions × 4
bytes on disk) is deleted at the end, unless --store says where to keep it.

    python benchmarks/store_search.py [--rows 1000000] [--dimensions 1536] [--queries 200] [--store PATH]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from disk_runs import rss_mb  # this folder is on the path when a script of it runs

CHUNK = 50_000


def clustered(rows: int, dims: int, seed: int = 0):
    """Unit vectors around 2,000 centres, a chunk at a time."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2_000, dims)).astype(np.float32)
    for start in range(0, rows, CHUNK):
        n = min(CHUNK, rows - start)
        v = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.standard_normal((n, dims)).astype(np.float32)
        yield start, v / np.linalg.norm(v, axis=1, keepdims=True)


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dimensions", type=int, default=1536)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--store", type=Path, help="keep the store here; one this script wrote before with the same "
                        "--rows and --dimensions is searched again (its vectors generated again for brute force only)")
    args = parser.parse_args()
    if args.store:
        return run(args.store, args)
    folder = Path(tempfile.mkdtemp(prefix="store-search-"))
    try:
        run(folder / "store", args)
    finally:
        shutil.rmtree(folder)


def run(path: Path, args) -> None:
    from openai_magics.embed.store import VectorStore

    store = VectorStore.create_or_open(path, "text-embedding-3-small", args.dimensions)
    again = len(store) == args.rows
    matrix = np.empty((args.rows, args.dimensions), dtype=np.float32)  # brute force's copy, in memory
    started = time.perf_counter()
    for start, vectors in clustered(args.rows, args.dimensions):
        matrix[start:start + len(vectors)] = vectors
        if not again:
            store.add(list(range(start, start + len(vectors))),
                      [f"row {i}" for i in range(start, start + len(vectors))], vectors)
    written = time.perf_counter() - started
    if again and store.indexed:
        print(f"{args.rows:,} × {args.dimensions} vectors already in {path}, indexed: generated again in "
              f"{written:,.1f} s for brute force", flush=True)
    else:
        build(store, args, written, matrix.nbytes)
    store = VectorStore.open(path)  # searched as a user reopening it would
    search(store, matrix, args)


def build(store, args, written: float, in_memory: int) -> None:
    before = rss_mb()[0]
    print(f"{args.rows:,} × {args.dimensions} vectors written in {written:,.1f} s; RSS {before:,.0f} MB (brute force's "
          f"copy of the vectors {in_memory / 2**20:,.0f} MB of it)", flush=True)
    Path("/proc/self/clear_refs").write_text("5")  # the peak from here on is the build's (Linux)
    started = time.perf_counter()
    store.build_index()
    print(f"ANN index built in {time.perf_counter() - started:,.1f} s; peak RSS while it built {rss_mb()[1]:,.0f} MB",
          flush=True)


def search(store, matrix, args) -> None:
    rng = np.random.default_rng(1)
    picks = rng.integers(0, args.rows, args.queries)
    queries = matrix[picks] + 0.3 * rng.standard_normal((args.queries, args.dimensions)).astype(np.float32) / np.sqrt(args.dimensions)
    # float32 like the matrix (np.sqrt's float64 made them float64): brute force then converted the whole matrix to
    # float64 at every query, slower than it is, and the 1M run was killed for the memory
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    store.search(queries[0], k=10)  # warm: the index's first read
    ours, brute, recall = [], [], []
    for query in queries:  # alternating, one query each
        t = time.perf_counter()
        found = store.search(query, k=10)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        scores = matrix @ query
        best = np.argpartition(-scores, 10)[:10]
        best = best[np.argsort(-scores[best])]
        brute.append(time.perf_counter() - t)
        recall.append(len(set(found.index) & set(best.tolist())) / 10)
    (p50, p95), (b50, b95) = percentiles(ours), percentiles(brute)
    print(f"store search p50 {p50 * 1000:,.1f} ms p95 {p95 * 1000:,.1f} ms · brute force p50 {b50 * 1000:,.1f} ms "
          f"p95 {b95 * 1000:,.1f} ms · brute/store {b50 / p50:,.1f}× (p50), {b95 / p95:,.1f}× (p95) · "
          f"recall@10 {statistics.mean(recall):.3f} · peak RSS {rss_mb()[1]:,.0f} MB", flush=True)


if __name__ == "__main__":
    main()
