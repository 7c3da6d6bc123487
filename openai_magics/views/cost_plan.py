"""The cost planner's table (`--dry-run` on a job of many requests): one row per way of running it, nothing
sent."""
from __future__ import annotations

from openai_magics.metering.planner import CostPlan
from openai_magics.metering.pricing import format_usd
from openai_magics.views.markup import LEFT, NO_MATHS, escape_markup

COLUMNS = ("how", "input tokens", "cached", "output (expected / most)", "expected USD", "worst case USD")


class PlanTable:
    """A CostPlan shown as a table; `.plan` holds the figures, `to_pandas()` gives them as a DataFrame."""

    def __init__(self, plan: CostPlan, what: str = "requests"):
        self.plan, self.what = plan, what

    @property
    def heading(self) -> str:
        count = "" if self.plan.exact else "≈ "
        return (f"Cost plan · {self.plan.model} · {self.plan.requests:,} {self.what} · {count}tokens counted here · "
                "nothing sent")

    def _cells(self, line) -> list[str]:
        approx = not self.plan.exact
        return [line.how, f"{line.input_tokens:,}", f"{line.cached_tokens:,}" if line.cached_tokens else "",
                f"{line.expected_output:,} / {line.worst_output:,}" if line.worst_output else "",
                format_usd(line.expected, approx), format_usd(line.worst, approx)]

    def _repr_html_(self) -> str:
        head = "".join(f"<th{LEFT if i == 0 else ''}>{c}</th>" for i, c in enumerate(COLUMNS))
        rows = "".join("<tr>" + "".join(f"<td{LEFT if i == 0 else ''}>{escape_markup(c)}</td>"
                                        for i, c in enumerate(self._cells(line))) + "</tr>" for line in self.plan.lines)
        notes = "".join(f"<p>{escape_markup(n)}</p>" for n in self.plan.notes)
        return (f'<div class="{NO_MATHS}"><p><b>{escape_markup(self.heading)}</b></p>'
                f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{notes}</div>")

    def _repr_pretty_(self, p, cycle) -> None:
        cells = [list(COLUMNS)] + [self._cells(line) for line in self.plan.lines]
        widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
        lines = ["  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths)))
                 for row in cells]
        p.text("\n".join([self.heading, *lines, *self.plan.notes]))

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame([{"how": l.how, "input_tokens": l.input_tokens, "cached_tokens": l.cached_tokens,
                              "expected_output": l.expected_output, "worst_output": l.worst_output,
                              "expected_usd": l.expected, "worst_usd": l.worst} for l in self.plan.lines])
