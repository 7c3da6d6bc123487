"""The usage ledger: one record per API call, in tokens and dollars."""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal

from openai_magics.metering.pricing import format_usd
from openai_magics.metering.usage import Usage


@dataclass
class UsageRecord:
    magic: str
    model: str                      # the model that answered (a dated snapshot when the API says so)
    usage: Usage = field(default_factory=Usage)
    cost: Decimal | None = None     # None: price unknown
    unpriced: str | None = None     # why the price is unknown, when it is known to be (the model is listed)
    latency: float = 0.0
    first_token: float | None = None  # seconds until the first piece of a streamed answer
    cell: int | None = None         # execution count
    cell_id: str | None = None      # the frontend's cell id, when it sends one
    cache_hit: bool = False
    saved: Decimal | None = None    # what a cache hit would have cost
    estimated: bool = False         # token counts estimated (no usage from the server, or interrupted)
    interrupted: bool = False
    unreadable: bool = False        # paid, but nothing usable could be read from the answer (none of it kept)
    batch: bool = False
    budget_cap: int | None = None   # the output limit the budget set for this call, when it set one
    calls: int = 1                  # the calls summed in this row (a file-backed run keeps one row, see RunRows)
    from_file: int = 0              # rows a resumed run read back from its file instead of asking (not paid)
    time: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def as_row(self) -> dict:
        row = {k: v for k, v in asdict(self).items() if k != "usage"}
        row.update(asdict(self.usage))
        row["cost"] = float(self.cost) if self.cost is not None else None
        row["saved"] = float(self.saved) if self.saved is not None else None
        return row

    @property
    def cost_text(self) -> str:
        if self.cache_hit:
            return "$0 (cached)"
        if self.cost is None and self.unpriced:
            return f"price unknown ({self.unpriced})"
        return format_usd(self.cost, approx=self.estimated)


COLUMNS = ["cell", "magic", "model", "input_tokens", "cached_tokens", "output_tokens", "reasoning_tokens",
           "input_audio_tokens", "input_image_tokens", "output_audio_tokens", "output_image_tokens",
           "images", "image_size", "image_quality", "service_tier", "audio_seconds", "characters", "video_seconds", "video_size",
           "web_searches", "file_searches", "containers", "stored_bytes", "budget_cap", "cost", "unpriced", "latency", "first_token", "cache_hit", "saved", "estimated",
           "interrupted", "unreadable", "batch", "calls", "from_file", "cell_id", "time"]


class Ledger:
    """Thread-safe list of UsageRecords (embedding batches record from worker threads)."""

    def __init__(self) -> None:
        self._records: list[UsageRecord] = []
        self._lock = threading.Lock()

    def add(self, record: UsageRecord) -> UsageRecord:
        with self._lock:
            self._records.append(record)
        return record

    def fold(self, record: UsageRecord, into: "RunRows") -> None:
        """Sum a recorded call into its run's row of the same kind, in place of its own row: the ledger of a run
        that writes its answers to a file stays a few rows long however many it pays for."""
        with self._lock:
            for i in range(len(self._records) - 1, -1, -1):  # it was just added: look from the end
                if self._records[i] is record:
                    del self._records[i]
                    break
            row = into.rows.get(into.kind(record))
            if row is None:
                into.rows[into.kind(record)] = row = replace(record, first_token=None)
                self._records.append(row)
                return
            row.usage = row.usage + record.usage
            row.cost = None if row.cost is None or record.cost is None else row.cost + record.cost
            row.saved = None if row.saved is None or record.saved is None else row.saved + record.saved
            row.latency += record.latency
            row.estimated |= record.estimated
            row.calls += record.calls

    def replace(self, old: UsageRecord, new: UsageRecord) -> None:
        """Bring a record up to date in place (a call that paid again since it was first recorded)."""
        with self._lock:
            for i, record in enumerate(self._records):
                if record is old:
                    self._records[i] = new
                    return
            self._records.append(new)

    def from_file(self, rows: int, into: "RunRows", first: UsageRecord) -> None:
        """Mark `rows` a resumed run read back from its file: on its first row, or on a row of no calls (`first`,
        its cell, magic and model) when the run asked nothing."""
        with self._lock:
            if into.rows:
                next(iter(into.rows.values())).from_file += rows
            else:
                into.rows[into.kind(first)] = row = replace(first, calls=0, from_file=rows)
                self._records.append(row)

    @property
    def records(self) -> list[UsageRecord]:
        with self._lock:
            return list(self._records)

    def rows(self) -> list[dict]:
        return [r.as_row() for r in self.records]

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows(), columns=COLUMNS)

    @property
    def total_cost(self) -> Decimal:
        """What we know was spent (unknown prices count as 0 here; `unknown_calls` says how many)."""
        return sum((r.cost for r in self.records if r.cost is not None and not r.cache_hit), Decimal(0))

    @property
    def calls(self) -> int:
        return sum(r.calls for r in self.records)

    @property
    def unknown_calls(self) -> int:
        return sum(r.calls for r in self.records if r.cost is None and not r.cache_hit)

    @property
    def total_saved(self) -> Decimal:
        return sum((r.saved for r in self.records if r.saved is not None), Decimal(0))

    @property
    def unknown_saved(self) -> int:
        """Cache hits on a model whose price is unknown: what they saved is unknown too, not $0."""
        return sum(r.calls for r in self.records if r.cache_hit and r.saved is None)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        return len(self.records)


class RunRows:
    """The ledger rows of one run that writes its answers to a file: its calls summed, one row per kind (model,
    answered by the cache or paid, priced or not, readable or not), so that totals stay exact and the ledger stays short."""

    def __init__(self) -> None:
        self.rows: dict[tuple, UsageRecord] = {}

    @staticmethod
    def kind(record: UsageRecord) -> tuple:
        return record.model, record.cache_hit, record.cost is None, record.unreadable
