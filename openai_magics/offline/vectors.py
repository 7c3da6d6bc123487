"""Deterministic embedding vectors in which similar texts lie close together.

Vectors are hashed character trigrams of the lowered text (word boundaries included), computed for all
texts at once with numpy, so thousands of texts take milliseconds.
"""
from __future__ import annotations


def vectors(texts: list[str], dimensions: int):
    """Unit float32 rows: each trigram of " text " (lowered, as UTF-8 bytes) adds ±1 at a hashed index."""
    import numpy as np

    padded = [f" {t.lower()} ".encode() for t in texts]
    lengths = np.fromiter(map(len, padded), dtype=np.int64, count=len(padded))
    data = np.frombuffer(b"".join(padded), dtype=np.uint8).astype(np.uint64)
    starts = np.cumsum(lengths) - lengths
    row = np.repeat(np.arange(len(texts)), lengths)
    positions = np.flatnonzero(np.arange(len(data)) - starts[row] <= lengths[row] - 3)  # within one text
    hashed = _mix(data[positions] << np.uint64(16) | data[positions + 1] << np.uint64(8) | data[positions + 2])
    index = (hashed % np.uint64(dimensions)).astype(np.int64)
    sign = np.where(hashed >> np.uint64(31) & np.uint64(1), 1.0, -1.0) * _signs(dimensions)[index]
    flat = np.bincount(row[positions] * dimensions + index, weights=sign, minlength=len(texts) * dimensions)
    matrix = _hartley(flat.reshape(len(texts), dimensions).astype(np.float32))
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    return matrix


def _signs(dimensions: int):
    """Fixed random signs per dimension, so that the transformed rows look like noise, not waves."""
    import numpy as np

    return np.where(_mix(np.arange(dimensions, dtype=np.uint64)) & np.uint64(1), 1.0, -1.0)


def _hartley(matrix):
    """The orthonormal discrete Hartley transform of each row: dense rows that keep every dot product
    (real vectors from OpenAI are dense too, and a preview of mostly zeros would look broken)."""
    import numpy as np

    d = matrix.shape[1]
    half = np.fft.rfft(matrix, axis=1, norm="ortho")  # a real row's other half of the spectrum mirrors this one
    out = np.empty(matrix.shape, dtype="<f4")
    out[:, : half.shape[1]] = half.real - half.imag
    out[:, half.shape[1]:] = (half.real + half.imag)[:, d - half.shape[1] : 0 : -1]
    return out


def _mix(codes):
    """MurmurHash3's 32-bit finaliser: nearby trigram codes land far apart."""
    import numpy as np

    mask = np.uint64(0xFFFFFFFF)
    h = codes ^ (codes >> np.uint64(16))
    h = (h * np.uint64(0x85EBCA6B)) & mask
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & mask
    return h ^ (h >> np.uint64(16))
