"""Embedding vectors kept in the cache file, behind the session's in-memory vectors."""
from __future__ import annotations

from openai_magics.cache.keys import embedding_keys, endpoint_of, keys_digest, preview
from openai_magics.cache.policy import not_losing_the_answer, replay_miss, skipped_when_unreadable


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

    def fill(self, model: str, dimensions: int | None, texts: list[str], rows, targets: list[int]):
        found = self.memory.fill(model, dimensions, texts, rows, targets)
        rest = [i for i, t in enumerate(texts) if t not in found]
        keys = self._keys(model, dimensions, [texts[i] for i in rest])
        from_file = type(found)()
        with skipped_when_unreadable(self.cache):
            from_file = self._read(model, dimensions, keys, [texts[i] for i in rest], rows, [targets[i] for i in rest],
                                   type(found)())
        missed = {k for k, i in zip(keys, rest) if texts[i] not in from_file} - self._missed
        self._missed |= missed
        self.cache.hits += len(found.texts) + len(from_file.texts)
        self.cache.misses += len(missed)
        found |= from_file
        return found

    def _read(self, model: str, dimensions: int | None, keys: list[str], texts: list[str], rows,
              targets: list[int], found):
        """Write the stored vector of each `keys[j]` (of `texts[j]`) into `rows` at `targets[j]`; the
        session keeps them from there."""
        import numpy as np

        by_block: dict[int, tuple[list[int], list[int], list[str]]] = {}

        def take(block: int, block_rows, indexes) -> None:
            source_rows, target_rows, of_block = by_block.setdefault(block, ([], [], []))
            source_rows.extend(block_rows)
            target_rows.extend(targets[j] for j in indexes)
            of_block.extend(texts[j] for j in indexes)

        covering, rest = self._whole_blocks(keys)
        for block, start, count in covering:
            take(block, range(count), range(start, start + count))
        where = self.cache.find_vectors([keys[j] for j in rest]) if rest else {}
        for j in rest:
            if keys[j] in where:
                block, row = where[keys[j]]
                take(block, (row,), (j,))
        for block, (source_rows, target_rows, of_block) in by_block.items():
            width, tokens, data = self.cache.vector_block(block)
            vectors = np.frombuffer(data, dtype="<f4").reshape(-1, width)
            rows.copy_from(vectors, source_rows, target_rows)
            found.add(of_block, len(vectors), tokens)
            whole = len(of_block) == len(vectors)
            self.memory.keep(model, dimensions, of_block, rows.array, target_rows, tokens if whole else None)
        rest = [j for j in rest if keys[j] not in where]
        one_by_one = self.cache.get_vectors([keys[j] for j in rest]) if rest else {}  # as older files hold them
        for j in rest:
            if keys[j] in one_by_one:
                rows.write(targets[j], np.frombuffer(one_by_one[keys[j]], dtype="<f4"))
                found.add([texts[j]], 0, None)
                self.memory.keep(model, dimensions, [texts[j]], rows.array, [targets[j]])
        return found

    def _whole_blocks(self, keys: list[str]) -> tuple[list[tuple[int, int, int]], list[int]]:
        """Stored blocks that hold a run of `keys` whole, in order (a re-run of the same texts), as (block, index
        of its first key, rows); and the indexes of the keys no such block covers."""
        starts = self.cache.blocks_starting(keys) if keys else {}
        whole, rest, j = [], [], 0
        while j < len(keys):
            match = next((b for b in starts.get(keys[j], ()) if j + b[1] <= len(keys)
                          and b[2] == keys_digest(keys[j:j + b[1]])), None)
            if match:
                whole.append((match[0], j, match[1]))
                j += match[1]
            else:
                rest.append(j)
                j += 1
        return whole, rest

    def keep(self, model: str, dimensions: int | None, texts: list[str], array, rows: list[int],
             tokens: int | None = None) -> None:
        import numpy as np

        self.memory.keep(model, dimensions, texts, array, rows, tokens)
        contiguous = rows == list(range(rows[0], rows[0] + len(rows))) if rows else True
        block = array[rows[0]:rows[0] + len(rows)] if contiguous else array[np.asarray(rows)]
        with not_losing_the_answer(self.cache):
            self.cache.put_vector_block(model, self._keys(model, dimensions, texts), memoryview(block).cast("B"),
                                        array.shape[1], tokens)

    def before_sending(self, model: str, texts: list[str]) -> None:
        """In replay mode nothing goes to the network: texts still missing are a miss."""
        if self.cache.replay and texts:
            from openai_magics.core.cell import current_cell

            more = f" and {len(texts) - 1:,} more text{'s' * (len(texts) != 2)}" if len(texts) > 1 else ""
            raise replay_miss(self.cache, current_cell(), "embed", model, preview(texts[0]) + more)
