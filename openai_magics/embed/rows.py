"""Where vectors live: the result's one float32 array, written row by row as answers arrive, and the
session's vectors, which are rows of the arrays results were written into (never copies, never one array
per text)."""
from __future__ import annotations

import threading

from openai_magics.core.errors import CallFailed

# Hits are copied in slices of this many rows, so that a copy never needs a second result's worth of memory.
COPY_ROWS = 4096


class Rows:
    """The result: n rows, allocated once when the first vector says how long vectors are."""

    def __init__(self, n: int):
        self.n = n
        self.array = None
        self._lock = threading.Lock()

    def of_width(self, width: int):
        """The array, made on first use; a vector of another length than the first is the server's fault."""
        if self.array is None:
            with self._lock:
                if self.array is None:
                    import numpy as np

                    self.array = np.empty((self.n, width), dtype=np.float32)
        if self.array.shape[1] != width:
            lengths = sorted({self.array.shape[1], width})
            raise CallFailed(f"The vectors have different lengths ({', '.join(f'{n:,}' for n in lengths)}): "
                             "the server answered some requests differently, or the cache holds vectors from "
                             "another server for this model. Re-run with --no-cache.")
        return self.array

    def write(self, row: int, vector) -> None:
        self.of_width(len(vector))[row] = vector

    def write_all(self, rows: list[int], vectors: list) -> None:
        """`vectors[i]` into row `rows[i]` (all of one length, as checked)."""
        if vectors:
            out = self.of_width(len(vectors[0]))
            for row, vector in zip(rows, vectors):
                out[row] = vector

    def copy_from(self, source, source_rows: list[int], rows: list[int]) -> None:
        """`self[rows[i]] = source[source_rows[i]]`, a slice at a time."""
        import numpy as np

        out = self.of_width(source.shape[1])
        for start in range(0, len(rows), COPY_ROWS):
            out[np.asarray(rows[start:start + COPY_ROWS])] = source[np.asarray(source_rows[start:start + COPY_ROWS])]

    def finish(self, duplicates: list[tuple[int, int]]):
        """The array with every duplicate row filled from the row it repeats, then read-only: the session
        keeps these rows to answer the same texts again, so they must not change under it."""
        if duplicates:
            self.copy_from(self.array, [src for _, src in duplicates], [dst for dst, _ in duplicates])
        self.array.flags.writeable = False
        return self.array


class VectorCache:
    """Vectors by (model, dimensions, text) for the session, as rows of result arrays.

    The seam for a persistent cache: `fill` and `keep` are all the engine uses.
    """

    def __init__(self) -> None:
        # (model, dimensions) → text → where: one int per text (array number << 32 | row), not a tuple
        self._rows: dict[tuple, dict[str, int]] = {}
        self._arrays: list = []             # by number; None once no text is in it any more
        self._counts: list[int] = []        # texts in each
        self._numbers: dict[int, int] = {}  # id(array) → its number
        self._lock = threading.Lock()

    def fill(self, model: str, dimensions: int | None, texts: list[str], rows: Rows, targets: list[int]) -> set[str]:
        """Write the vector of each known `texts[i]` into `rows` at `targets[i]`; the texts found."""
        with self._lock:
            known = self._rows.get((model, dimensions), {})
            found = [(i, known[t]) for i, t in enumerate(texts) if t in known]
            arrays = list(self._arrays)
        by_array: dict[int, tuple[list[int], list[int]]] = {}
        for i, where in found:
            source_rows, target_rows = by_array.setdefault(where >> 32, ([], []))
            source_rows.append(where & 0xFFFFFFFF)
            target_rows.append(targets[i])
        for number, (source_rows, target_rows) in by_array.items():
            rows.copy_from(arrays[number], source_rows, target_rows)
        return {texts[i] for i, _ in found}

    def keep(self, model: str, dimensions: int | None, texts: list[str], array, rows: list[int]) -> None:
        """Remember that `texts[i]` is `array[rows[i]]`."""
        with self._lock:
            number = self._numbers.get(id(array))
            if number is None:
                number = self._numbers[id(array)] = len(self._arrays)
                self._arrays.append(array)  # kept, so its id is never reused while it is known
                self._counts.append(0)
            known = self._rows.setdefault((model, dimensions), {})
            high = number << 32
            for text, row in zip(texts, rows):
                before = known.get(text)
                known[text] = high | row
                self._counts[number] += 1
                if before is not None:
                    self._forget(before >> 32)

    def _forget(self, number: int) -> None:
        """One text less in an array; an array no text is in any more is let go (asked again, --no-cache)."""
        self._counts[number] -= 1
        if self._counts[number] == 0:
            del self._numbers[id(self._arrays[number])]
            self._arrays[number] = None

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self._arrays.clear()
            self._counts.clear()
            self._numbers.clear()

    def __len__(self) -> int:
        return sum(len(known) for known in self._rows.values())
