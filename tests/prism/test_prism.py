"""Every cell against 30+ random answers that fit OpenAI's published schema: a valid result or one clear
line, never a traceback, never a negative or NaN cost."""
from __future__ import annotations

import math

import numpy as np
import pytest
from IPython.core.error import UsageError

from openai_magics.chat.result import ChatResult
from openai_magics.core.errors import CallFailed
from openai_magics.embed.result import EmbedResult

ROUNDS = 30


@pytest.fixture
def prism_nb(nb, session, prism_url, tmp_path):
    session.configure(base_url=prism_url, bills="openai")
    nb.cache_path = tmp_path / "prism-cache.sqlite"
    return nb


def check(ran, session, kind=None):
    shown = (ran.stdout + ran.stderr).strip()
    assert "Traceback" not in ran.text, ran.text
    if ran.error is not None:
        assert type(ran.error) in (UsageError, CallFailed), f"{type(ran.error).__name__}: {ran.error}"
        assert len(shown.splitlines()) == 1, shown
    elif kind is ChatResult:
        assert isinstance(ran.result, ChatResult) and isinstance(ran.result.text, str)
        r = ran.result
        shown_items = r.items or r.tool_calls  # an image, a search, code run: output that is not text
        assert r.text or r.incomplete or r.refusal or r.parsed is not None or shown_items, \
            "an empty answer shown as a valid one"
    elif kind is EmbedResult:
        vectors = ran.result.vectors
        assert vectors.ndim == 2 and vectors.shape[0] == len(ran.result.texts) and np.isfinite(vectors).all()
    for record in session.ledger.records:
        assert record.cost is None or (record.cost.is_finite() and record.cost >= 0), record
        assert all(getattr(record.usage, n) >= 0 for n in ("input_tokens", "output_tokens", "cached_tokens"))
        assert not math.isnan(record.latency)
    return ran


@pytest.mark.parametrize("cell", [
    "%chat --no-stream Say hi ({i})",
    "%chat Say hi ({i})",
    "%chat --api chat --no-stream --thread p{j} Remember {i}",
    "%%chat --json --no-stream\nAnswer in JSON: {i}",
    "%chat --api responses --no-stream Say hi ({i})",
    "%chat --api responses Say hi ({i})",
])
def test_chat_cells(prism_nb, session, cell):
    for i in range(ROUNDS):
        check(prism_nb.run(cell.format(i=i, j=i % 3)), session, ChatResult)
    check(prism_nb.run("%openai threads"), session)


def test_embed_cells(prism_nb, session):
    for i in range(ROUNDS):
        check(prism_nb.run(f"%%embed\nfirst text {i}\nsecond text {i}"), session, EmbedResult)


def test_tokens_cache_and_usage_cells(prism_nb, session):
    check(prism_nb.run(f"%openai cache on {prism_nb.cache_path}"), session)
    for i in range(ROUNDS):
        check(prism_nb.run(f"%tokens -m gpt-4o-mini a few words {i}"), session)
        for _ in range(2):  # the second may come from the cache
            check(prism_nb.run(f"%chat --no-stream -t 0 cache me {i}"), session, ChatResult)
    for cell in ("%openai usage", "%openai usage --by model", "%openai status", "%openai cache stats"):
        check(prism_nb.run(cell), session)
    check(prism_nb.run("%openai cache off"), session)
