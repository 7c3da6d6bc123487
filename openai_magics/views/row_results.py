"""The answers of a run over rows, aligned with its input, and how they show.

`.series` is a pandas Series on the input's index (answers, parsed objects, or a `RowError` for a row
that failed or was never run), ready to become a DataFrame column: `df["label"] = result.series`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice

from openai_magics.metering.pricing import format_usd
from openai_magics.views.markup import LEFT, NO_MATHS, escape_markup, shorten, usage_sub

PREVIEW_ROWS = 10


class RowError:
    """A row without an answer, and why (falsy, so `series[series.astype(bool)]` keeps the answers)."""

    def __init__(self, message: str):
        self.message = message

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other) -> bool:
        return isinstance(other, RowError) and other.message == self.message

    def __hash__(self) -> int:
        return hash(self.message)

    def __repr__(self) -> str:
        return f"RowError({self.message!r})"

    def __str__(self) -> str:
        return f"⚠ {self.message}"


def cost_of(records) -> Decimal | None:
    """What a run's ledger records cost together (None: a price is unknown)."""
    costs = [r.cost for r in records if not r.cache_hit]
    return None if any(c is None for c in costs) else sum(costs, Decimal(0))


def spent(records, model: str) -> list[str]:
    """A run's usage line parts: calls the cache answered, the model, tokens and USD."""
    cached = sum(r.calls for r in records if r.cache_hit)
    tokens = sum(r.usage.input_tokens + r.usage.output_tokens for r in records)
    return ([f"{cached:,} cached"] if cached else []) + [
        model, f"{tokens:,} tokens", format_usd(cost_of(records), approx=any(r.estimated for r in records))]


@dataclass
class RowResults:
    name: str                          # the input's name (`--over NAME`)
    labels: list                       # one per input row, in input order
    values: list                       # one per input row: the answer, a parsed object, or a RowError (a sharded
                                       # batch's are read from its results file each time they are iterated)
    model: str = ""
    records: list = field(default_factory=list, repr=False)  # the ledger records of the run
    index: object = None               # the input's pandas index, when it had one
    batch_id: str | None = None
    interrupted: bool = False
    asked: int = 0                     # distinct prompts (identical rows are asked once)
    elapsed: float = 0.0
    notes: list = field(default_factory=list)  # what else the run found, said after the counts
    confidence: list | None = None     # --logprobs: per row, the probability of its answer's first token

    def __len__(self) -> int:
        return len(self.values)

    @property
    def series(self):
        import pandas as pd

        index = self.index if self.index is not None else self.labels
        return pd.Series(list(self.values), index=index, name="answer", dtype=object)

    def to_pandas(self):
        """The answers as a DataFrame on the input's index, with a `confidence` column under --logprobs (sort by
        it to see the doubtful rows first)."""
        import pandas as pd

        frame = self.series.to_frame()
        if self.confidence is not None:
            frame["confidence"] = pd.Series(self.confidence, index=frame.index, dtype=float)
        return frame

    @property
    def errors(self) -> dict:
        """Row label → the RowError of each row that has no answer."""
        return {label: v for label, v in zip(self.labels, self.values) if isinstance(v, RowError)}

    @property
    def cost(self) -> Decimal | None:
        return cost_of(self.records)

    @property
    def tokens(self) -> int:
        return sum(r.usage.input_tokens + r.usage.output_tokens for r in self.records)

    @property
    def summary(self) -> str:
        failed = len(self.errors)
        parts = [f"{len(self) - failed:,}/{len(self):,} rows answered"]
        if failed:
            parts.append(f"{failed:,} failed")
        if self.asked and self.asked < len(self):
            parts.append(f"{self.asked:,} distinct prompts")
        parts += spent(self.records, self.model)
        if self.batch_id:
            parts.append(f"batch {self.batch_id} (half price)")
        if self.elapsed:
            parts.append(f"{self.elapsed:.1f} s")
        if self.interrupted:
            parts.append("interrupted: the rest was not run")
        parts += self.notes
        return " · ".join(p for p in parts if p)

    def _preview(self) -> list[tuple[str, str]]:
        rows = list(islice(zip(self.labels, self.values), PREVIEW_ROWS))
        shown = [(str(label), shorten(str(value), 120)) for label, value in rows]
        if self.confidence is None:
            return shown
        return [(label, f"{_percent(c)} · {value}") for (label, value), c in zip(shown, self.confidence)]

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><th{LEFT}>{escape_markup(label)}</th><td{LEFT}>{escape_markup(value)}</td></tr>"
                       for label, value in self._preview())
        more = f"<p>… {len(self) - PREVIEW_ROWS:,} more rows (<code>.series</code> holds them all)</p>" \
            if len(self) > PREVIEW_ROWS else ""
        head = "confidence · answer" if self.confidence is not None else "answer"
        return (f"<table class='{NO_MATHS}'><thead><tr><th></th><th{LEFT}>{head}</th></tr></thead>"
                f"<tbody>{body}</tbody></table>{more}<p>{usage_sub(self.summary)}</p>")

    def _repr_pretty_(self, p, cycle) -> None:
        lines = [f"{label}: {value}" for label, value in self._preview()]
        if len(self) > PREVIEW_ROWS:
            lines.append(f"… {len(self) - PREVIEW_ROWS:,} more rows (.series holds them all)")
        p.text("\n".join([*lines, "", self.summary]))



def _percent(probability) -> str:
    return "–" if probability is None else f"{probability:.0%}"
