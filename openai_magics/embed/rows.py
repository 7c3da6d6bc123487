"""Where vectors live: the result's one float32 array, written row by row as answers arrive, and the
session's vectors, which are rows of the arrays results were written into (never copies, never one array
per text)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from openai_magics.core.errors import CallFailed

# Hits are copied in slices of this many rows, so that a copy never needs a second result's worth of memory.
COPY_ROWS = 4096


class VectorRows:
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
        if _in_a_run(rows) and _in_a_run(source_rows):  # the usual case: a block of rows, in order
            out[rows[0]:rows[0] + len(rows)] = source[source_rows[0]:source_rows[0] + len(rows)]
            return
        for start in range(0, len(rows), COPY_ROWS):
            out[np.asarray(rows[start:start + COPY_ROWS])] = source[np.asarray(source_rows[start:start + COPY_ROWS])]

    def finish(self, duplicates: list[tuple[int, int]]):
        """The array with every duplicate row filled from the row it repeats, then read-only: the session
        keeps these rows to answer the same texts again, so they must not change under it."""
        if duplicates:
            self.copy_from(self.array, [src for _, src in duplicates], [dst for dst, _ in duplicates])
        self.array.flags.writeable = False
        return self.array


def _in_a_run(numbers: list[int]) -> bool:
    return bool(numbers) and numbers[-1] - numbers[0] == len(numbers) - 1 and numbers == list(
        range(numbers[0], numbers[0] + len(numbers)))


@dataclass
class Found:
    """Texts whose vectors a cache wrote into the result, and what they would have cost."""

    texts: set[str] = field(default_factory=set)
    tokens: int = 0                                    # of the texts found with every text of their request:
    uncounted: list[str] = field(default_factory=list)  # as billed then; the others are to be counted

    def add(self, texts: list[str], size: int, tokens: int | None) -> None:
        """`texts` found, out of the `size` texts of the request that billed `tokens` for them."""
        self.texts.update(texts)
        if tokens is not None and len(texts) == size:
            self.tokens += tokens
        else:
            self.uncounted += texts

    def __ior__(self, other: "Found") -> "Found":
        self.texts |= other.texts
        self.tokens += other.tokens
        self.uncounted += other.uncounted
        return self

    def __contains__(self, text: str) -> bool:
        return text in self.texts

    def __bool__(self) -> bool:
        return bool(self.texts)


@dataclass
class _Request:
    """The rows one request's vectors went to."""

    array: object
    size: int            # texts in the request
    tokens: int | None   # billed for them (None: not known exactly)
    live: int = 0        # of its texts, those still known by these rows


class VectorCache:
    """Vectors by (model, dimensions, text) for the session, as rows of result arrays.

    The seam for a persistent cache: `fill` and `keep` are all the engine uses.
    """

    def __init__(self) -> None:
        # (model, dimensions) → text → where: one int per text (request number << 32 | row), not a tuple
        self._rows: dict[tuple, dict[str, int]] = {}
        self._requests: list[_Request | None] = []  # None once none of its texts is known by its rows
        self._lock = threading.Lock()

    def fill(self, model: str, dimensions: int | None, texts: list[str], rows: VectorRows, targets: list[int]) -> Found:
        """Write the vector of each known `texts[i]` into `rows` at `targets[i]`."""
        with self._lock:
            known = self._rows.get((model, dimensions), {})
            found = [(i, known[t]) for i, t in enumerate(texts) if t in known]
            requests = list(self._requests)
        by_request: dict[int, tuple[list[int], list[int], list[str]]] = {}
        for i, where in found:
            source_rows, target_rows, of_request = by_request.setdefault(where >> 32, ([], [], []))
            source_rows.append(where & 0xFFFFFFFF)
            target_rows.append(targets[i])
            of_request.append(texts[i])
        result = Found()
        for number, (source_rows, target_rows, of_request) in by_request.items():
            request = requests[number]
            rows.copy_from(request.array, source_rows, target_rows)
            result.add(of_request, request.size, request.tokens)
        return result

    def keep(self, model: str, dimensions: int | None, texts: list[str], array, rows: list[int],
             tokens: int | None = None) -> None:
        """Remember that `texts[i]` is `array[rows[i]]`, all of one request that billed `tokens`."""
        with self._lock:
            number = len(self._requests)
            self._requests.append(_Request(array, len(texts), tokens, len(texts)))
            known = self._rows.setdefault((model, dimensions), {})
            high = number << 32
            for text, row in zip(texts, rows):
                before = known.get(text)
                known[text] = high | row
                if before is not None:
                    self._forget(before >> 32)

    def _forget(self, number: int) -> None:
        """One text less known by a request's rows; rows no text is known by any more are let go."""
        request = self._requests[number]
        request.live -= 1
        if request.live == 0:
            self._requests[number] = None

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self._requests.clear()

    def __len__(self) -> int:
        return sum(len(known) for known in self._rows.values())
