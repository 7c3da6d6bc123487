"""`%openai usage`: the ledger as a table with totals and the cumulative cost."""
from __future__ import annotations

import csv
import re
from decimal import Decimal

from openai_magics.metering.ledger import Ledger, UsageRecord
from openai_magics.metering.pricing import format_usd
from openai_magics.views.markup import NO_MATHS, escape_markup

NUMBERS = ("input_tokens", "cached_tokens", "input_audio_tokens", "input_image_tokens", "output_tokens",
           "reasoning_tokens", "output_audio_tokens", "output_image_tokens", "images", "audio_seconds", "characters",
           "video_seconds")
HEADERS = {"cell": "cell", "magic": "magic", "model": "model", "calls": "calls", "input_tokens": "in",
           "cached_tokens": "cached", "cached_share": "cached %", "output_tokens": "out", "reasoning_tokens": "reasoning", "input_audio_tokens": "audio in",
           "input_image_tokens": "image in", "output_audio_tokens": "audio out", "output_image_tokens": "image out",
           "images": "images",
           "audio_seconds": "audio s", "characters": "chars", "video_seconds": "video s", "cost": "USD", "cumulative": "cumulative",
           "latency": "latency", "cache_hit": "cache", "unreadable": "answer", "from_file": "from file"}
TEXT_COLUMNS = {"cell", "magic", "model", "cache_hit", "unreadable"}  # left-aligned; every other column is a figure
SHOWN_ROWS = 200   # past this many rows the table shows its first and last HEAD_TAIL rows
HEAD_TAIL = 50
CHART_POINTS = 120  # the cumulative chart samples at most this many calls: its size does not grow with the ledger
# The notebook's own table style wraps cells at any hyphen and spreads columns evenly (`table-layout: fixed`);
# the selectors are specific enough to win over it.
STYLE = ("<style>div.oaim-usage-view table.oaim-usage{table-layout:auto;margin:0 0 .5em 0}"
         "div.oaim-usage-view table.oaim-usage th,div.oaim-usage-view table.oaim-usage td"
         "{white-space:nowrap;text-align:right;font-variant-numeric:tabular-nums;padding:.25em .6em}"
         "div.oaim-usage-view table.oaim-usage .t{text-align:left}"
         "div.oaim-usage-view{overflow-x:auto}</style>")


class UsageTable:
    def __init__(self, ledger: Ledger, by: str = "call"):
        self.by = by
        self.records = ledger.records
        self.rows = self._group(self.records, by)

    @staticmethod
    def _group(records: list[UsageRecord], by: str) -> list[dict]:
        """One pass over the records: each row's cells are an ordered set, so grouping stays linear."""
        groups: dict = {}
        for i, r in enumerate(records):
            key = i if by == "call" else (r.cell_id or r.cell) if by == "cell" else getattr(r, by)
            row = groups.get(key)
            if row is None:
                row = groups[key] = {"cells": {}, "magic": r.magic, "model": r.model, "calls": 0,
                                     **{n: 0 for n in NUMBERS}, "cost": Decimal(0), "unknown": False,
                                     "estimated": False, "latency": 0.0, "hits": 0, "saved": Decimal(0),
                                     "saved_unknown": False, "unreadable": 0, "from_file": 0}
            row["calls"] += r.calls
            row["from_file"] += r.from_file
            if r.cell is not None:
                row["cells"][r.cell] = None
            for n in NUMBERS:
                row[n] += getattr(r.usage, n)
            row["latency"] += r.latency
            row["hits"] += r.calls if r.cache_hit else 0
            row["saved"] += r.saved or 0
            row["saved_unknown"] |= r.cache_hit and r.saved is None
            row["estimated"] |= r.estimated
            row["unreadable"] += r.calls if r.unreadable else 0
            if r.cost is None:
                row["unknown"] = True
            else:
                row["cost"] += r.cost
        rows, running = list(groups.values()), Decimal(0)
        for row in rows:
            row["cell"] = list(row.pop("cells"))
            # From the first call at an unknown price on, the running total is unknown too.
            running = None if running is None or row["unknown"] else running + row["cost"]
            row["cumulative"] = running
        return rows

    @property
    def columns(self) -> list[str]:
        first = {"call": ["cell", "magic", "model"], "cell": ["cell", "calls"], "model": ["model", "calls"],
                 "magic": ["magic", "calls"]}[self.by]
        if self.by == "call" and any(r.calls != 1 for r in self.records):  # a run's calls summed in one row
            first.append("calls")
        if any(r.from_file for r in self.records):  # rows a resumed run read back from its file, not paid again
            first.append("from_file")
        used = [n for n in NUMBERS if any(row[n] for row in self.rows)] or ["input_tokens", "output_tokens"]
        if "cached_tokens" in used:  # the share of the prompt read from OpenAI's prompt cache, beside its tokens
            used.insert(used.index("cached_tokens") + 1, "cached_share")
        marked = ["unreadable"] if any(row["unreadable"] for row in self.rows) else []  # paid, nothing usable came
        return first + used + ["cost", "cumulative", "latency", "cache_hit"] + marked

    def _cell(self, row: dict, column: str) -> str:
        value = row.get(column)
        if column == "cost":
            return "unknown" if row["unknown"] and not row["cost"] else format_usd(row["cost"], row["estimated"]) + (
                " + unknown" if row["unknown"] else "")
        if column == "cumulative":
            return "unknown" if value is None else format_usd(value)
        if column == "cache_hit":
            if not row["hits"]:
                return ""
            saved = format_usd(row["saved"])
            if row["saved_unknown"]:  # a hit on a model of unknown price saved an unknown amount, not $0
                return f"hit (saved {saved} + unknown)" if row["saved"] else "hit, saved (price unknown)"
            return f"hit (saved {saved})"
        if column == "unreadable":
            return "" if not value else "unreadable" if row["calls"] == 1 else f"{value:,} unreadable"
        if column == "latency":
            return f"{value:.1f} s"
        if column == "cached_share":
            return _share(row["cached_tokens"], row["input_tokens"])
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

    @property
    def unknown_calls(self) -> int:
        return sum(r.calls for r in self.records if r.cost is None)

    def summary(self) -> str:
        text = f"{sum(r.calls for r in self.records):,} calls · {format_usd(self.total)}"
        if self.unknown_calls:
            text += f" · {self.unknown_calls:,} at unknown prices"
        if self.saved:
            text += f" · {format_usd(self.saved)} saved by the cache"
        unreadable = sum(r.calls for r in self.records if r.unreadable)
        if unreadable:
            text += f" · {unreadable:,} paid answer{'s' * (unreadable != 1)} unreadable"
        cached = sum(r.usage.cached_tokens for r in self.records)
        if cached:
            prompt = sum(r.usage.input_tokens for r in self.records)
            text += f" · {_share(cached, prompt)} of input tokens read from the prompt cache"
        return text

    def _shown(self) -> tuple[list[dict], list[dict]]:
        """The rows shown before and after the gap: all of them, or the first and last HEAD_TAIL."""
        if len(self.rows) <= SHOWN_ROWS:
            return self.rows, []
        return self.rows[:HEAD_TAIL], self.rows[-HEAD_TAIL:]

    @property
    def _gap(self) -> str:
        hidden = len(self.rows) - 2 * HEAD_TAIL
        return (f"… {hidden:,} more rows not shown: `%openai usage -o t` then `t.to_pandas()`, "
                f"or `--csv PATH`, for all {len(self.rows):,}")

    def _repr_html_(self) -> str:
        cols = self.columns
        aligned = {c: ' class="t"' if c in TEXT_COLUMNS else "" for c in cols}
        head = "".join(f"<th{aligned[c]}>{HEADERS.get(c, c)}</th>" for c in cols)

        def body(rows):
            return "".join("<tr>" + "".join(f"<td{aligned[c]}>{escape_markup(self._cell(r, c))}</td>" for c in cols)
                           + "</tr>" for r in rows)

        before, after = self._shown()
        gap = re.sub(r"`([^`]+)`", r"<code>\1</code>", escape_markup(self._gap))
        gap = f'<tr><td class="t" colspan="{len(cols)}">{gap}</td></tr>' if after else ""
        return (f'<div class="oaim-usage-view {NO_MATHS}">{STYLE}<table class="oaim-usage"><thead><tr>{head}</tr>'
                f"</thead><tbody>{body(before)}{gap}{body(after)}</tbody></table>"
                f"<p><b>Total:</b> {escape_markup(self.summary())}</p>{self._chart()}</div>")

    def _cumulative_points(self) -> list[tuple[int, float]]:
        """(calls so far, running total) from (0, 0), at up to CHART_POINTS calls of known price, the last included."""
        known = [r for r in self.records if r.cost is not None and r.calls]
        running, calls, totals = 0.0, 0, []
        for r in known:  # a row may sum many calls (a run written to a file): the x axis counts calls
            running += float(r.cost)
            calls += r.calls
            totals.append((calls, running))
        if not totals:
            return []
        step = max(1, len(totals) // CHART_POINTS)
        picked = list(range(0, len(totals), step))
        if picked[-1] != len(totals) - 1:
            picked.append(len(totals) - 1)
        return [(0, 0.0)] + [totals[i] for i in picked]

    def _chart(self, width: int = 420, height: int = 150) -> str:
        """The running total of calls of known price: calls on x, cumulative USD on y, the last value labelled."""
        points = self._cumulative_points()
        unknown = self.unknown_calls
        left_out = (f"{unknown:,} call{'s' * (unknown != 1)} at unknown prices left out of the chart."
                    if unknown else "")
        if len(points) < 3 or not points[-1][1]:
            return f'<p class="oaim-usage-note">{escape_markup(left_out)}</p>' if left_out else ""
        left, right, top, bottom = 64, 76, 10, 34
        plot_w, plot_h = width - left - right, height - top - bottom
        calls, peak = points[-1][0], points[-1][1]

        def x(n: int) -> float:
            return left + n / calls * plot_w

        def y(v: float) -> float:
            return top + plot_h - v / peak * plot_h

        line = " ".join(f"{x(n):.1f},{y(v):.1f}" for n, v in points)
        last = format_usd(peak)
        x_axis, y_axis = top + plot_h, left
        label = f"cumulative cost: {last} after {calls:,} calls of known price"
        svg = (f'<svg class="oaim-usage-cumulative" width="{width}" height="{height}" role="img" '
               f'aria-label="{escape_markup(label)}" font-size="11" fill="currentColor">'
               f"<title>{escape_markup(label)}</title>"
               f'<g stroke="currentColor" stroke-opacity="0.5"><line x1="{y_axis}" y1="{top}" x2="{y_axis}" '
               f'y2="{x_axis}"/><line x1="{y_axis}" y1="{x_axis}" x2="{left + plot_w}" y2="{x_axis}"/></g>'
               f'<text x="{y_axis - 4}" y="{x_axis}" text-anchor="end">{escape_markup(format_usd(0))}</text>'
               f'<text x="{y_axis - 4}" y="{top + 8}" text-anchor="end">{escape_markup(last)}</text>'
               f'<text x="{y_axis}" y="{x_axis + 13}" text-anchor="middle">0</text>'
               f'<text x="{left + plot_w}" y="{x_axis + 13}" text-anchor="middle">{calls:,}</text>'
               f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle">calls</text>'
               f'<text x="{y_axis - 4}" y="{top + plot_h / 2 + 4}" text-anchor="end">USD</text>'
               f'<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{line}"/>'
               f'<circle cx="{x(calls):.1f}" cy="{y(peak):.1f}" r="2.5"/>'
               f'<text x="{x(calls) + 6:.1f}" y="{y(peak) + 4:.1f}">{escape_markup(last)}</text></svg>')
        note = f'<p class="oaim-usage-note">{escape_markup(left_out)}</p>' if left_out else ""
        return svg + note

    def _repr_pretty_(self, p, cycle) -> None:
        cols = self.columns
        before, after = self._shown()
        cells = [[HEADERS.get(c, c) for c in cols]] + [[self._cell(r, c) for c in cols] for r in before + after]
        widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
        lines = ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
        if after:
            lines.insert(1 + len(before), self._gap)
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
        if column == "cumulative" and row[column] is None:
            return "unknown"
        if column == "cached_share":
            return row["cached_tokens"] / row["input_tokens"] if row["input_tokens"] else 0.0
        return str(row[column]) if isinstance(row[column], Decimal) else row[column]

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame([{c: self._raw(r, c) for c in self.columns} for r in self.rows])


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "0%"
