"""`openai_magics.embed(texts)`: what `%%embed` does, from plain Python, returning the same EmbedResult."""
from __future__ import annotations

from openai_magics.core.session import session as current_session
from openai_magics.magics.kit import after_warm_up


@after_warm_up
def embed(texts=None, *, model: str | None = None, dimensions: int | None = None, truncate: bool = False,
          concurrency: int | None = None, cache: bool = True, progress=None, session=None,
          what: str = "the input", pool: str | None = None, store=None, column: str = "text"):
    """Embed a str, a list of str or a pandas Series; vectors come back in input order. `pool="mean"`
    averages the per-token vectors a server without pooling sends (llama.cpp). With `store=PATH` the vectors
    go to an on-disk store a chunk at a time (texts may then be a `pathlib.Path` to a Parquet file, read by
    `column`), and the VectorStore comes back; without texts, the store at PATH is opened."""
    from openai_magics.embed.engine import run_embed
    from openai_magics.embed.request import DEFAULT_CONCURRENCY, EmbedRequest, as_texts

    s = session or current_session()

    def request_of(chunk) -> EmbedRequest:
        return EmbedRequest(chunk, s.model_for("embed", model), dimensions, truncate,
                            DEFAULT_CONCURRENCY if concurrency is None else concurrency, cache=cache, pool=pool)

    if store is not None:
        from pathlib import Path

        from openai_magics.embed.store import VectorStore, embed_to_store

        if texts is None:
            return VectorStore.open(store, s)
        source = (texts, column) if isinstance(texts, Path) else texts
        return embed_to_store(s, source, store, request_of, what=what, progress=progress)
    if texts is None:
        from openai_magics.core.errors import UsageError

        raise UsageError("Nothing to embed: give texts (or store=PATH to open a store).")
    return run_embed(s, request_of(as_texts(texts, what)), progress)
