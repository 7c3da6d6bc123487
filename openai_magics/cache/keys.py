"""Cache keys: the SHA-256 of a request normalised, so that the same question finds the same answer.

The key covers where the request goes (endpoint and API) and every parameter that changes the answer;
never the API key or headers.
"""
from __future__ import annotations

import hashlib
import json

# Sent with a request but without effect on the answer.
NOT_IN_KEY = frozenset({"stream", "stream_options", "user", "timeout", "extra_headers", "extra_query",
                        "metadata", "store", "service_tier", "prompt_cache_key", "prompt_cache_retention"})


def request_key(endpoint: str, api: str, params: dict) -> str:
    """SHA-256 of the request normalised: sorted keys, no None values, nothing that does not change the answer."""
    body = {k: _plain(v) for k, v in params.items() if k not in NOT_IN_KEY and v is not None}
    text = json.dumps({"endpoint": endpoint, "api": api, "request": body}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def embedding_keys(endpoint: str, model: str, dimensions: int | None, texts: list[str]) -> list[str]:
    """`request_key` of each text's embedding request, without building and sorting a request per text:
    the normalised JSON is the same around every text, so only the text is encoded each time."""
    marker = "\x00text\x00"
    params = {"model": model, "dimensions": dimensions, "input": marker}
    body = {k: v for k, v in params.items() if v is not None}
    text = json.dumps({"endpoint": endpoint, "api": "embeddings", "request": body}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False, default=str)
    before, after = (part.encode() for part in text.split(json.dumps(marker, ensure_ascii=False), 1))
    quote = json.encoder.encode_basestring  # what json.dumps does to a str with ensure_ascii=False
    return [hashlib.sha256(before + quote(t).encode() + after).hexdigest() for t in texts]


def keys_digest(keys: list[str]) -> str:
    """One digest of several keys in their order: a block of stored vectors is known by it."""
    return hashlib.sha256("".join(keys).encode()).hexdigest()


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


def preview(text: str, words: int = 8) -> str:
    """The first words of a prompt, quoted, to name a request in one line."""
    head = " ".join(text.split()[:words])
    return f"“{head}{'…' if len(text.split()) > words else ''}”"

