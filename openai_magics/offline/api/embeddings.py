"""Embeddings: deterministic vectors in which similar texts lie close together, within the API's limits.

Vectors are hashed character trigrams of the lowered text (word boundaries included), computed for all
texts of a request at once with numpy, so thousands of texts take milliseconds.
"""
from __future__ import annotations

import binascii

from openai_magics.core.data import load
from openai_magics.offline.api.tokens import count
from openai_magics.core.models import model_info
from openai_magics.offline.api.errors import RequestError
from openai_magics.offline.router import Route

DEFAULT_DIMENSIONS = 1536
INVALID_INPUT = "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."


def embeddings(state, body: dict) -> dict:
    model = body["model"]
    inputs = [body["input"]] if isinstance(body["input"], str) else body["input"]
    _check(model, inputs, body.get("dimensions"))
    tokens = [count(t, model) for t in inputs]
    _check_tokens(model, tokens)
    dimensions = body.get("dimensions") or model_info(model).dimensions or DEFAULT_DIMENSIONS
    matrix = vectors(inputs, dimensions)
    if body.get("encoding_format") == "base64":
        encoded = [binascii.b2a_base64(row, newline=False).decode() for row in matrix]
    else:
        encoded = matrix.tolist()
    data = [{"object": "embedding", "index": i, "embedding": e} for i, e in enumerate(encoded)]
    total = sum(tokens)
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": total, "total_tokens": total}}


def limits_of(model: str) -> dict:
    table = load("embedding_limits.json")
    return table["models"].get(model) or table["default"]


def _check(model: str, inputs: list, dimensions: int | None) -> None:
    limits = limits_of(model)
    if not inputs or any(not isinstance(t, str) or t == "" for t in inputs):
        if inputs and all(isinstance(t, (int, list)) for t in inputs):
            raise RequestError("Token-array inputs are not supported by the offline server.", param="input")
        raise RequestError(INVALID_INPUT, param="input")
    if len(inputs) > limits['max_inputs']:
        raise RequestError(f"Too many inputs: {len(inputs):,} in one request, the maximum is "
                           f"{limits['max_inputs']:,}.", param="input")
    if dimensions is not None and not limits['dimensions_param']:
        raise RequestError("This model does not support specifying dimensions.", param="dimensions")
    native = model_info(model).dimensions
    if dimensions is not None and native and dimensions > native:
        raise RequestError(f"Invalid value for 'dimensions' = {dimensions}. Must be less than or equal to "
                           f"{native}.", param="dimensions")


def _check_tokens(model: str, tokens: list[int]) -> None:
    limits = limits_of(model)
    for index, n in enumerate(tokens):
        if n > limits['max_input_tokens']:
            raise RequestError(
                f"This model's maximum context length is {limits['max_input_tokens']} tokens, however you "
                f"requested {n} tokens ({n} in your prompt; 0 for the completion) in input {index}. "
                "Please reduce your prompt; or completion length.", param="input")
    if sum(tokens) > limits['max_request_tokens']:
        raise RequestError(f"Requested {sum(tokens)} tokens, max {limits['max_request_tokens']} tokens per request",
                           code="max_tokens_per_request", param="input")


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


ROUTES = [Route("POST", "/embeddings", lambda state, request: embeddings(state, request.body))]
