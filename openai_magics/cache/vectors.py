"""Embedding vectors kept in the cache file, behind the session's in-memory vectors."""
from __future__ import annotations

from openai_magics.cache.keys import endpoint_of, preview, request_key
from openai_magics.cache.policy import not_losing_the_answer, replay_miss


class PersistentVectors:
    """Embeddings by (endpoint, model, dimensions, text): the session's vectors first, then the file.

    Stands in for the embedding engine's session cache (same `get_many`/`put_many`).
    """

    def __init__(self, session, memory):
        self.session, self.memory, self.cache = session, memory, session.cache
        self._missed: set[str] = set()  # the engine asks again after truncating: count a miss once

    def _key(self, model: str, dimensions: int | None, text: str) -> str:
        params = {"model": model, "dimensions": dimensions, "input": text}
        return request_key(endpoint_of(self.session), "embeddings", params)

    def get_many(self, model: str, dimensions: int | None, texts: list[str]) -> dict:
        import numpy as np

        found = self.memory.get_many(model, dimensions, texts)
        keys = {self._key(model, dimensions, t): t for t in texts if t not in found}
        stored = self.cache.get_vectors(list(keys))
        fresh = {keys[k]: np.frombuffer(v, dtype="<f4") for k, v in stored.items()}
        if fresh:
            self.memory.put_many(model, dimensions, list(fresh), list(fresh.values()))
        missed = set(keys) - set(stored) - self._missed
        self._missed |= missed
        self.cache.hits += len(found) + len(fresh)
        self.cache.misses += len(missed)
        return {**found, **fresh}

    def put_many(self, model: str, dimensions: int | None, texts: list[str], vectors) -> None:
        import numpy as np

        self.memory.put_many(model, dimensions, texts, vectors)
        blobs = {self._key(model, dimensions, t): np.asarray(v, dtype="<f4").tobytes() for t, v in zip(texts, vectors)}
        with not_losing_the_answer(self.cache):
            self.cache.put_vectors(model, blobs)

    def before_sending(self, model: str, texts: list[str]) -> None:
        """In replay mode nothing goes to the network: texts still missing are a miss."""
        if self.cache.replay and texts:
            from openai_magics.core.cell import current_cell

            more = f" and {len(texts) - 1:,} more text{'s' * (len(texts) != 2)}" if len(texts) > 1 else ""
            raise replay_miss(self.cache, current_cell(), "embed", model, preview(texts[0]) + more)

