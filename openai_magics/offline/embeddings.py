"""Embeddings: deterministic vectors in which similar texts lie close together."""
from __future__ import annotations

import base64
import struct

from ..models import model_info
from ..tokens import count_text
from . import answers
from .chat import RequestError


def embeddings(state, body: dict) -> dict:
    model = body["model"]
    inputs = body["input"]
    if isinstance(inputs, str):
        inputs = [inputs]
    if inputs and isinstance(inputs[0], int):
        raise RequestError("Token-array inputs are not supported by the offline server.", param="input")
    dimensions = body.get("dimensions") or model_info(model).dimensions or 1536
    as_base64 = body.get("encoding_format") == "base64"
    data, total = [], 0
    for index, text in enumerate(inputs):
        total += count_text(text, model).tokens
        vector = answers.embedding(text, dimensions)
        encoded = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode() if as_base64 else vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": total, "total_tokens": total}}
