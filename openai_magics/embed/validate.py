"""An embeddings answer checked at the boundary: one flat vector of one length per input, in input order.

Compatible servers differ: llama.cpp with pooling off sends one vector per token, some send fewer vectors
than inputs or vectors of different lengths. Each is one clear line, and nothing of it is kept.
"""
from __future__ import annotations

import binascii

from openai_magics.core.errors import CallFailed


def checked_vectors(answer: object, inputs: int, *, pool: str | None = None, resolve=lambda value: value) -> list:
    """The answer's vectors (numpy float32 rows, views of their decoded bytes) in input order; CallFailed
    when the answer is not one flat vector of one length per input (`check_finite` once they are written).
    `pool="mean"` averages per-token matrices instead. `resolve` gives each vector's value as sent (the
    base64 bytes set aside while the rest of the answer was parsed)."""
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list) or not all(isinstance(d, dict) and "embedding" in d for d in data):
        raise _bad("is not a list of embeddings under `data`")
    if len(data) != inputs:
        raise _bad(f"has {len(data):,} vector{'s' * (len(data) != 1)} for {inputs:,} text{'s' * (inputs != 1)}")
    rows: list = [None] * inputs
    for position, item in enumerate(data):
        index = item.get("index", position)
        if not isinstance(index, int) or not 0 <= index < inputs or rows[index] is not None:
            raise _bad(f"gives the vector index {index!r} more than once or outside 0–{inputs - 1}")
        rows[index] = _row(resolve(item["embedding"]), index, pool)
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        raise _bad(f"has vectors of different lengths ({', '.join(f'{n:,}' for n in sorted(lengths))})")
    return rows


def check_finite(array, rows: list[int]) -> None:
    """The rows an answer was written into hold numbers only (one pass over them, not one per vector)."""
    import numpy as np

    start = rows[0] if rows else 0
    block = array[start:start + len(rows)] if rows == list(range(start, start + len(rows))) else array[rows]
    if not np.isfinite(block).all():
        raise _bad("has NaN or infinite numbers in its vectors")


def _row(value, index: int, pool: str | None):
    import numpy as np

    if isinstance(value, (str, memoryview)):
        try:
            row = np.frombuffer(binascii.a2b_base64(value), dtype="<f4")
        except (binascii.Error, ValueError):
            row = None
        if row is None or not row.size:
            raise _bad(f"has vector {index} in base64 that is not float32")
        return row
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise _bad(f"has vector {index} that is not a list of numbers of one length") from None
    if array.ndim == 2 and pool == "mean":
        mean = array.mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)
    if array.ndim == 2:
        raise CallFailed(
            f"The server sent one vector per token ({array.shape[0]:,} × {array.shape[1]:,} for text {index}), "
            "not one per text: it pools nothing (llama.cpp does this without --pooling mean). Start the server "
            "with pooling on, or pass --pool mean to average each text's token vectors here. Nothing was kept.")
    if array.ndim != 1 or not array.size:
        raise _bad(f"has vector {index} that is not one flat list of numbers")
    return array


def _bad(what: str) -> CallFailed:
    return CallFailed(f"The server's embeddings answer {what}; nothing was kept. "
                      "It does not answer as OpenAI's API does: check the endpoint and the model.")
