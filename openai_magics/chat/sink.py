"""`%%chat --over NAME --to PATH.parquet [--resume]`: each answer written to Parquet as it arrives.

PATH is a Parquet dataset folder (as Spark and pyarrow write them): `part-NNNNN.parquet` files, each one row
group of finished rows (`row`: the position in the input, `answer`, `error`, and what the row's call used and
cost: `input_tokens`, `cached_tokens`, `output_tokens`, `reasoning_tokens`, `cost` in USD, null when the price
is unknown, `cache_hit`; rows identical to an earlier one were asked with it and cost nothing more), written
whole under a temporary name and renamed, so a kernel killed at any moment leaves only whole parts behind.
`_run.json` says which run wrote it (the model and a digest of every row's prompt); `--resume` asks only the
rows no part holds, and refuses a folder another run wrote. Memory stays bounded: at most one part's rows wait
in memory, and the ledger sums the run's calls in one row per kind (metering.ledger.RunRows) while each row's
own usage is in the file. The result reads the folder lazily (`.series`, `.to_pandas()`, `pd.read_parquet(PATH)`).
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from decimal import Decimal
from pathlib import Path

from openai_magics.core.cell import current_cell
from openai_magics.metering.ledger import RunRows, UsageRecord
from openai_magics.views.row_results import RowError, spent
from openai_magics.core.errors import UsageError

RUN_FILE = "_run.json"
ROWS_PER_PART = 10_000
SECONDS_PER_PART = 2.0   # a killed kernel loses at most this long of answers (they were paid: the ledger has them)
WRITTEN = "written"      # what the run keeps of an answer in memory once its rows are in the file
USAGE_COLUMNS = ("input_tokens", "cached_tokens", "output_tokens", "reasoning_tokens")
COST_DIGITS = 18         # USD to 1e-18: every price times every token count fits


def digest(model: str, prompts: list[str]) -> str:
    """What identifies a run: its model and every row's prompt, in order."""
    h = hashlib.sha256(model.encode())
    for prompt in prompts:
        h.update(hashlib.sha256(prompt.encode()).digest())
    return h.hexdigest()


class ParquetSink:
    """Where a `--over` run writes each finished row. `pending`: each distinct prompt still to ask, by its first
    row (in input order); `before`: how many rows a killed run already wrote; `ledger_rows`: the run's calls."""

    def __init__(self, path: str, model: str, prompts: list[str], resume: bool):
        self.path, self.model = _checked_path(path), model
        self.run = digest(model, prompts)
        self.pending: dict[str, int] = {}
        self._more_rows: dict[int, list[int]] = {}  # a prompt's first row → its other rows (identical prompts)
        self._buffer: list[tuple] = []
        self._flushed = time.monotonic()
        self._lock = threading.Lock()
        self._parts = 0
        self.ledger_rows = RunRows()
        written = self._open(resume, len(prompts))
        self.before = len(written)
        for i, prompt in enumerate(prompts):
            if i not in written:
                first = self.pending.setdefault(prompt, i)
                if first != i:
                    self._more_rows.setdefault(first, []).append(i)

    def _open(self, resume: bool, rows: int) -> set[int]:
        run_file = self.path / RUN_FILE
        if self.path.exists() and not resume:
            raise UsageError(f"--to {self.path}: it exists. Add --resume to ask only the rows it lacks, or choose "
                             "another path (nothing is overwritten).")
        if resume and self.path.exists():
            try:
                said = json.loads(run_file.read_text())
            except (OSError, ValueError):
                raise UsageError(f"--to {self.path} --resume: not a folder `--to` wrote (no {RUN_FILE}), so which "
                                 "rows it holds is unknown. Choose another path.") from None
            if said.get("run") != self.run:
                raise UsageError(f"--to {self.path} --resume: it holds another run's answers (other rows, prompts "
                                 "or model). Resume with the same input, template and model, or choose another path.")
            written, self._parts = _rows_in(self.path)
            return written
        try:
            self.path.mkdir(parents=True)
            run_file.write_text(json.dumps({"run": self.run, "model": self.model, "rows": rows}))
        except OSError as exc:
            raise UsageError(f"--to {self.path}: cannot write there ({exc.strerror or exc}).") from None
        return set()

    def write(self, prompt: str, answer, record=None) -> str:
        """One finished prompt's answer for each of its rows, its call's usage and cost on the first of them; a
        part is written when enough rows wait."""
        error = answer.message if isinstance(answer, RowError) else None
        text = None if error is not None else answer if isinstance(answer, str) else json.dumps(answer, default=str)
        first = self.pending[prompt]
        paid = _paid(record)
        with self._lock:
            self._buffer.append((first, text, error, *paid))
            self._buffer.extend((i, text, error, *_NOTHING_PAID) for i in self._more_rows.get(first, ()))
            if len(self._buffer) >= ROWS_PER_PART or time.monotonic() - self._flushed >= SECONDS_PER_PART:
                self._flush()
        return WRITTEN

    def mark_from_file(self, ledger) -> None:
        """The rows read back from the folder, said on the run's ledger row (one of no calls if it asked none)."""
        if self.before:
            cell, cell_id = current_cell()
            ledger.from_file(self.before, into=self.ledger_rows,
                             first=UsageRecord("chat", self.model, cost=Decimal(0), cell=cell, cell_id=cell_id))

    def close(self) -> None:
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        self._flushed = time.monotonic()
        if not self._buffer:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows, answers, errors, *used, costs, hits = zip(*self._buffer)
        table = pa.table({"row": pa.array(rows, pa.int64()), "answer": pa.array(answers, pa.string()),
                          "error": pa.array(errors, pa.string()),
                          **{name: pa.array(counts, pa.int64()) for name, counts in zip(USAGE_COLUMNS, used)},
                          "cost": pa.array(costs, pa.decimal128(38, COST_DIGITS)),
                          "cache_hit": pa.array(hits, pa.bool_())})
        name = f"part-{self._parts:05d}.parquet"
        temporary = self.path / f".{name}.tmp"
        pq.write_table(table, temporary)
        os.replace(temporary, self.path / name)
        self._parts += 1
        self._buffer.clear()


_NOTHING_PAID = (0, 0, 0, 0, Decimal(0), False)


def _paid(record) -> tuple:
    """A row's usage columns, its cost (None: unknown price) and whether the response cache answered it."""
    if record is None:  # failed before anything was paid
        return _NOTHING_PAID
    u, cost = record.usage, record.cost
    if cost is not None and cost.as_tuple().exponent < -COST_DIGITS:
        cost = cost.quantize(Decimal(1).scaleb(-COST_DIGITS))
    return u.input_tokens, u.cached_tokens, u.output_tokens, u.reasoning_tokens, cost, record.cache_hit


def _checked_path(path: str) -> Path:
    if not path or not path.strip():
        raise UsageError("--to needs a path, e.g. --to answers.parquet.")
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--to {path}: a file is there, not a folder of parts `--to` writes. Choose another path.")
    parent = folder.parent if folder.parent != Path("") else Path(".")
    if not folder.exists() and (not parent.is_dir() or not os.access(parent, os.W_OK)):
        why = "does not exist" if not parent.is_dir() else "is not writable"
        raise UsageError(f"--to {path}: its folder {parent} {why}.")
    return folder


def _rows_in(folder: Path) -> tuple[set[int], int]:
    """The rows the folder's whole parts hold, and how many parts there are (half-written ones are ignored)."""
    import pyarrow.parquet as pq

    rows, parts = set(), sorted(folder.glob("part-*.parquet"))
    for part in parts:
        rows.update(pq.read_table(part, columns=["row"]).column("row").to_pylist())
    last = max((int(p.stem.split("-")[1]) for p in parts), default=-1)
    return rows, last + 1


class WrittenRows:
    """A `--over --to` run's answers, read from the folder when asked for (not held in memory)."""

    def __init__(self, path: Path, labels: list, index, *, model: str, records: list, asked: int, before: int,
                 interrupted: bool = False, notes: list | None = None):
        self.path, self.labels, self.index = path, labels, index
        self.model, self.records, self.asked, self.before = model, records, asked, before
        self.interrupted, self.notes = interrupted, notes or []

    def __len__(self) -> int:
        return len(self.labels)

    def table(self):
        """The folder as one pyarrow Table, in input order."""
        import pyarrow.dataset as ds

        return ds.dataset(self.path, format="parquet").to_table().sort_by("row")

    def to_pandas(self):
        return self.table().to_pandas()

    @property
    def series(self):
        """The answers aligned with the input (a RowError for a row the folder lacks or that failed)."""
        import pandas as pd

        table = self.table()
        values: list = [RowError("not written: the run stopped before this row (--resume asks it)")] * len(self)
        for row, answer, error in zip(*(table.column(c).to_pylist() for c in ("row", "answer", "error"))):
            values[row] = RowError(error) if error is not None else answer
        return pd.Series(values, index=self.index if self.index is not None else self.labels, name="answer",
                         dtype=object)

    @property
    def summary(self) -> str:
        import pyarrow.dataset as ds

        written = ds.dataset(self.path, format="parquet").count_rows()
        parts = [f"{written:,}/{len(self):,} rows written to {self.path}"]
        if self.before:
            parts.append(f"{self.before:,} of them from the folder (written before, not asked again)")
        parts.append(f"{self.asked:,} asked now")
        parts += [p for p in spent(self.records, self.model) if p]
        return " · ".join(parts + self.notes) + (" · interrupted: --resume asks the rest" if self.interrupted else "")

    def __repr__(self) -> str:
        return f"<WrittenRows {self.summary}>"

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self.summary)
