"""Embeddings: deterministic vectors (offline/vectors.py) for the texts of a request, within the API's limits."""
from __future__ import annotations

import binascii

from openai_magics.facts.data import load
from openai_magics.offline.tokens import count
from openai_magics.facts.models import model_info
from openai_magics.offline.errors import RequestError
from openai_magics.offline.router import Route
from openai_magics.offline.vectors import vectors

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


ROUTES = [Route("POST", "/embeddings", lambda state, request: embeddings(state, request.body))]
