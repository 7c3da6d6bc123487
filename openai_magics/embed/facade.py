"""`openai_magics.embed(texts)`: what `%%embed` does, from plain Python, returning the same EmbedResult."""
from __future__ import annotations

from openai_magics.core.session import session as current_session


def embed(texts, *, model: str | None = None, dimensions: int | None = None, truncate: bool = False,
          concurrency: int | None = None, cache: bool = True, progress=None, session=None,
          what: str = "the input", pool: str | None = None):
    """Embed a str, a list of str or a pandas Series; vectors come back in input order. `pool="mean"`
    averages the per-token vectors a server without pooling sends (llama.cpp)."""
    from openai_magics.embed.engine import run_embed
    from openai_magics.embed.request import DEFAULT_CONCURRENCY, EmbedRequest, as_texts

    s = session or current_session()
    request = EmbedRequest(as_texts(texts, what), s.model_for("embed", model), dimensions, truncate,
                           DEFAULT_CONCURRENCY if concurrency is None else concurrency, cache=cache, pool=pool)
    return run_embed(s, request, progress)
