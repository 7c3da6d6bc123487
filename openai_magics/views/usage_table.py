"""`%openai usage`: the ledger as a table with totals and the cumulative cost (SPEC §7)."""
from __future__ import annotations

import csv
import html
from decimal import Decimal

from openai_magics.core.ledger import Ledger, UsageRecord
from openai_magics.core.pricing import format_usd

NUMBERS = ("input_tokens", "cached_tokens", "output_tokens", "reasoning_tokens", "images", "audio_seconds",
           "characters")
HEADERS = {"cell": "cell", "magic": "magic", "model": "model", "calls": "calls", "input_tokens": "in",
           "cached_tokens": "cached", "output_tokens": "out", "reasoning_tokens": "reasoning", "images": "images",
           "audio_seconds": "audio s", "characters": "chars", "cost": "USD", "cumulative": "cumulative",
           "latency": "latency", "cache_hit": "cache"}


class UsageTable:
    def __init__(self, ledger: Ledger, by: str = "call"):
        self.by = by
        self.records = ledger.records
        self.rows = self._group(self.records, by)

    @staticmethod
    def _group(records: list[UsageRecord], by: str) -> list[dict]:
        groups: dict = {}
        for i, r in enumerate(records):
            key = i if by == "call" else (r.cell_id or r.cell) if by == "cell" else getattr(r, by)
            row = groups.setdefault(key, {"cell": [], "magic": r.magic, "model": r.model, "calls": 0,
                                          **{n: 0 for n in NUMBERS}, "cost": Decimal(0), "unknown": False,
                                          "estimated": False, "latency": 0.0, "hits": 0, "saved": Decimal(0)})
            row["calls"] += 1
            if r.cell is not None and r.cell not in row["cell"]:
                row["cell"].append(r.cell)
            for n in NUMBERS:
                row[n] += getattr(r.usage, n)
            row["latency"] += r.latency
            row["hits"] += r.cache_hit
            row["saved"] += r.saved or 0
            row["estimated"] |= r.estimated
            if r.cost is None:
                row["unknown"] = True
            else:
                row["cost"] += r.cost
        rows, running = list(groups.values()), Decimal(0)
        for row in rows:
            running += row["cost"]
            row["cumulative"] = running
        return rows

    @property
    def columns(self) -> list[str]:
        first = {"call": ["cell", "magic", "model"], "cell": ["cell", "calls"], "model": ["model", "calls"],
                 "magic": ["magic", "calls"]}[self.by]
        used = [n for n in NUMBERS if any(row[n] for row in self.rows)] or ["input_tokens", "output_tokens"]
        return first + used + ["cost", "cumulative", "latency", "cache_hit"]

    def _cell(self, row: dict, column: str) -> str:
        value = row.get(column)
        if column == "cost":
            return "unknown" if row["unknown"] and not row["cost"] else format_usd(row["cost"], row["estimated"]) + (
                " + unknown" if row["unknown"] else "")
        if column == "cumulative":
            return format_usd(value)
        if column == "cache_hit":
            return f"hit (saved {format_usd(row['saved'])})" if row["hits"] else ""
        if column == "latency":
            return f"{value:.1f} s"
        if column == "cell":
            return ", ".join(map(str, value))
        if isinstance(value, float):
            return f"{value:,.1f}"
        return f"{value:,}" if isinstance(value, int) else str(value)

    @property
    def total(self) -> Decimal:
        return sum((row["cost"] for row in self.rows), Decimal(0))

    @property
    def saved(self) -> Decimal:
        return sum((row["saved"] for row in self.rows), Decimal(0))

    def summary(self) -> str:
        unknown = sum(1 for r in self.records if r.cost is None)
        text = f"{len(self.records)} calls · {format_usd(self.total)}"
        if unknown:
            text += f" · {unknown} at unknown prices"
        if self.saved:
            text += f" · {format_usd(self.saved)} saved by the cache"
        return text

    def _repr_html_(self) -> str:
        cols = self.columns
        head = "".join(f"<th>{HEADERS.get(c, c)}</th>" for c in cols)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(self._cell(r, c))}</td>" for c in cols) + "</tr>"
                       for r in self.rows)
        return (f'<table class="oaim-usage"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
                f"<p><b>Total:</b> {html.escape(self.summary())}</p>{self._cumulative_svg()}")

    def _cumulative_svg(self, width: int = 320, height: int = 60) -> str:
        """The running total as a small step chart: where the money went, at a glance."""
        totals = [float(r["cumulative"]) for r in self.rows]
        if len(totals) < 2 or not totals[-1]:
            return ""
        step = width / len(totals)
        points = ["0,%d" % height]
        for i, total in enumerate(totals):
            y = height - total / totals[-1] * (height - 4)
            points += [f"{i * step:.1f},{y:.1f}", f"{(i + 1) * step:.1f},{y:.1f}"]
        label = html.escape(f"cumulative cost, {format_usd(self.total)} after {len(totals)} rows")
        return (f'<svg class="oaim-usage-cumulative" width="{width}" height="{height}" role="img" '
                f'aria-label="{label}"><title>{label}</title><polyline fill="none" stroke="currentColor" '
                f'stroke-width="1.5" points="{" ".join(points)}"/></svg>')

    def _repr_pretty_(self, p, cycle) -> None:
        cols = self.columns
        cells = [[HEADERS.get(c, c) for c in cols]] + [[self._cell(r, c) for c in cols] for r in self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
        lines = ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
        p.text("\n".join(lines + [f"Total: {self.summary()}"]))

    def to_csv(self, path: str) -> None:
        cols = self.columns
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(cols)
            for row in self.rows:
                writer.writerow([self._raw(row, c) for c in cols])

    @staticmethod
    def _raw(row: dict, column: str):
        """Machine-readable values: exact decimals, counts, cache hits as a number."""
        if column == "cell":
            return " ".join(map(str, row["cell"]))
        if column == "cache_hit":
            return row["hits"]
        if column == "cost" and row["unknown"]:
            return "unknown" if not row["cost"] else f"{row['cost']}+unknown"
        return str(row[column]) if isinstance(row[column], Decimal) else row[column]

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame([{c: self._raw(r, c) for c in self.columns} for r in self.rows])
