"""One embeddings answer read without copying its vectors: its JSON is parsed with each base64 vector set
aside (a few bytes per input instead of 8 KB), and each vector is decoded later from the response bytes in
place, straight into the row it belongs to.
"""
from __future__ import annotations

import json
import re

from openai_magics.core.errors import CallFailed

_KEY = b'"embedding"'
_TO_VALUE = re.compile(rb'\s*:\s*"')
_MARK = "#"  # outside the base64 alphabet: a string the server sent can never look like one of our marks


def read_answer(raw: bytes):
    """The answer as JSON, each base64 vector replaced by a mark; and `vector_of(value)`, which gives the
    bytes a mark stands for (each once) and any other value as it is."""
    skeleton, spans = _without_vectors(raw)
    try:
        answer = json.loads(skeleton)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise CallFailed(f"The server's embeddings answer is not a JSON object ({raw[:60]!r}…); nothing was kept.")
    return answer, _Marks(spans, memoryview(raw)).resolve


def _without_vectors(body: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    """The answer with each base64 vector replaced by a mark ("#0", "#1"…), and where each one was."""
    pieces, spans, done, at = [], [], 0, 0
    while (at := body.find(_KEY, at)) >= 0:
        at += len(_KEY)
        opens = _TO_VALUE.match(body, at)
        if opens is None:  # "embedding" as a value, not a key
            continue
        start = opens.end()
        end = body.find(b'"', start)
        if end < 0:
            break
        if body.find(b"\\", start, end) < 0:  # with an escape in it, json has to read it
            pieces += [body[done:start], f"{_MARK}{len(spans)}".encode()]
            spans.append((start, end))
            done = end
        at = end + 1
    pieces.append(body[done:])
    return b"".join(pieces), spans


class _Marks:
    """The base64 vectors set aside, each to be taken once."""

    def __init__(self, spans: list[tuple[int, int]], view: memoryview):
        self.spans, self.view, self.taken = spans, view, bytearray(len(spans))

    def resolve(self, value):
        if not (isinstance(value, str) and value.startswith(_MARK) and value[1:].isdigit()):
            return value
        n = int(value[1:])
        if n >= len(self.spans) or self.taken[n]:
            return value  # not one of ours: the checks say what is wrong with it
        self.taken[n] = 1
        start, end = self.spans[n]
        return self.view[start:end]
