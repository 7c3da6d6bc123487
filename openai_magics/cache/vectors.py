"""Embedding vectors kept in the cache file, behind the session's in-memory vectors."""
from __future__ import annotations

from openai_magics.cache.keys import embedding_keys, endpoint_of, preview
from openai_magics.cache.policy import not_losing_the_answer, replay_miss


class PersistentVectors:
    """Embeddings by (endpoint, model, dimensions, text): the session's vectors first, then the file.

    Stands in for the embedding engine's session cache (same `fill`/`keep`): what the file holds is read
    straight into the result's rows, a block at a time.
    """

    def __init__(self, session, memory):
        self.session, self.memory, self.cache = session, memory, session.cache
        self._missed: set[str] = set()  # the engine asks again after truncating: count a miss once

    def _keys(self, model: str, dimensions: int | None, texts: list[str]) -> list[str]:
        return embedding_keys(endpoint_of(self.session), model, dimensions, texts)

    def fill(self, model: str, dimensions: int | None, texts: list[str], rows, targets: list[int]) -> set[str]:
        found = self.memory.fill(model, dimensions, texts, rows, targets)
        rest = [i for i, t in enumerate(texts) if t not in found]
        keys = self._keys(model, dimensions, [texts[i] for i in rest])
        from_file = self._read(keys, rows, [targets[i] for i in rest])
        fresh = [texts[rest[j]] for j in from_file]
        if fresh:
            self.memory.keep(model, dimensions, fresh, rows.array, [targets[rest[j]] for j in from_file])
        missed = set(keys) - {keys[j] for j in from_file} - self._missed
        self._missed |= missed
        self.cache.hits += len(found) + len(fresh)
        self.cache.misses += len(missed)
        return found | set(fresh)

    def _read(self, keys: list[str], rows, targets: list[int]) -> list[int]:
        """Write the stored vector of each `keys[j]` into `rows` at `targets[j]`; the positions j found."""
        import numpy as np

        where = self.cache.find_vectors(keys) if keys else {}
        by_block: dict[int, tuple[list[int], list[int]]] = {}
        found = []
        for j, key in enumerate(keys):
            if key in where:
                block, row = where[key]
                source_rows, target_rows = by_block.setdefault(block, ([], []))
                source_rows.append(row)
                target_rows.append(targets[j])
                found.append(j)
        for block, (source_rows, target_rows) in by_block.items():
            width, data = self.cache.vector_block(block)
            rows.copy_from(np.frombuffer(data, dtype="<f4").reshape(-1, width), source_rows, target_rows)
        rest = [j for j, key in enumerate(keys) if key not in where]
        one_by_one = self.cache.get_vectors([keys[j] for j in rest]) if rest else {}  # as older files hold them
        for j in rest:
            if keys[j] in one_by_one:
                rows.write(targets[j], np.frombuffer(one_by_one[keys[j]], dtype="<f4"))
                found.append(j)
        return sorted(found)

    def keep(self, model: str, dimensions: int | None, texts: list[str], array, rows: list[int]) -> None:
        import numpy as np

        self.memory.keep(model, dimensions, texts, array, rows)
        contiguous = rows == list(range(rows[0], rows[0] + len(rows))) if rows else True
        block = array[rows[0]:rows[0] + len(rows)] if contiguous else array[np.asarray(rows)]
        with not_losing_the_answer(self.cache):
            self.cache.put_vector_block(model, self._keys(model, dimensions, texts), memoryview(block).cast("B"),
                                        array.shape[1])

    def before_sending(self, model: str, texts: list[str]) -> None:
        """In replay mode nothing goes to the network: texts still missing are a miss."""
        if self.cache.replay and texts:
            from openai_magics.core.cell import current_cell

            more = f" and {len(texts) - 1:,} more text{'s' * (len(texts) != 2)}" if len(texts) > 1 else ""
            raise replay_miss(self.cache, current_cell(), "embed", model, preview(texts[0]) + more)
