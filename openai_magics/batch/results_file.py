"""A sharded job's answers as one Parquet file beside its manifest, joined on the row: `row` (the position in
the input), `answer`, `error`, `shard` (which shard answered it; the job's shard count for the retry of
failed rows). One row group per shard, appended as the shard is collected, so memory holds one shard's
answers at a time; each row is in the file once. The result reads the file in input order when asked.

A Parquet file is whole only once closed, so each collection pass writes a new file (the row groups of the
previous one copied a group at a time, then the new shards) and renames it into place when it ends: a kernel
killed mid-pass leaves the previous file whole, and `%openai batch resume` writes the shards it lacks.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from openai_magics.views.row_results import RowError

NAME = "results.parquet"
READ_ROWS = 10_000  # rows turned into Python objects at a time when read back


def _schema():
    import pyarrow as pa

    return pa.schema([("row", pa.int64()), ("answer", pa.string()), ("error", pa.string()), ("shard", pa.int32())])


class ResultsFile:
    """The job's results file: which shards and rows it holds, and a writer appending a row group per shard."""

    def __init__(self, home: Path, rows: int):
        import numpy as np

        self.path, self._temporary = home / NAME, home / f".{NAME}.tmp"
        self.written = np.zeros(rows, dtype=bool)
        self.shards: set[int] = set()
        self._writer = None
        for table in self._groups(columns=["row", "shard"]):
            self.written[table.column("row").to_numpy()] = True
            self.shards.update(table.column("shard").unique().to_pylist())

    def _groups(self, columns=None):
        """The row groups of the file as it was before this pass (none when it is missing or not whole)."""
        import pyarrow.parquet as pq

        try:
            existing = pq.ParquetFile(self.path)
        except (OSError, ValueError):  # no file yet, or one a crash left unreadable: rewritten from the shards
            return
        for i in range(existing.num_row_groups):
            yield existing.read_row_group(i, columns=columns)

    def append(self, shard: int, rows: list[int], values: list) -> None:
        """One shard's rows (their answers, or RowErrors) as a row group."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            self._writer = pq.ParquetWriter(self._temporary, _schema())
            for table in self._groups():
                self._writer.write_table(table)
        errors = [v.message if isinstance(v, RowError) else None for v in values]
        answers = [None if e is not None else v if isinstance(v, str) else json.dumps(v, default=str)
                   for v, e in zip(values, errors)]
        self._writer.write_table(pa.table([pa.array(rows, pa.int64()), pa.array(answers, pa.string()),
                                           pa.array(errors, pa.string()), pa.array([shard] * len(rows), pa.int32())],
                                          schema=_schema()))
        self.written[rows] = True
        self.shards.add(shard)

    def close(self) -> None:
        """The pass's file put in place of the previous one (nothing to do when the pass wrote nothing)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            os.replace(self._temporary, self.path)


class FileAnswers:
    """The answers in input order, read from the results file each time they are asked for (not held in memory).
    `decode`: answers stored as JSON (parsed objects, vectors) are read back as the objects they were."""

    def __init__(self, path: Path, rows: int, decode: bool):
        self.path, self.rows, self.decode = path, rows, decode

    def __len__(self) -> int:
        return self.rows

    def __iter__(self):
        import pyarrow.parquet as pq

        table = pq.read_table(self.path, columns=["row", "answer", "error"]).sort_by("row")
        for batch in table.to_batches(max_chunksize=READ_ROWS):
            answers, errors = batch.column(1).to_pylist(), batch.column(2).to_pylist()
            yield from (RowError(e) if e is not None else json.loads(a) if self.decode else a
                        for a, e in zip(answers, errors))

    def __getitem__(self, i: int):
        import pyarrow.parquet as pq

        if not -self.rows <= i < self.rows:
            raise IndexError(i)
        found = pq.read_table(self.path, columns=["answer", "error"], filters=[("row", "=", i % self.rows)])
        answer, error = found.column(0)[0].as_py(), found.column(1)[0].as_py()
        return RowError(error) if error is not None else json.loads(answer) if self.decode else answer
