"""EvalResult: the scoreboard (model × grader) and the per-row DataFrame to drill into."""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from decimal import Decimal

from openai_magics.metering.pricing import format_usd
from openai_magics.evals.stats import percentile, wilson
from openai_magics.views.markup import NO_MATHS, escape_markup


@dataclass
class RowResult:
    model: str
    index: int
    inputs: dict
    prompt: str
    expected: object = None
    answer: str | None = None
    error: str | None = None
    cost: Decimal | None = Decimal(0)
    latency: float | None = None
    cache_hit: bool = False
    verdicts: dict = field(default_factory=dict)  # grader name → graders.Grade


@dataclass
class EvalResult:
    request: object
    rows_done: list[RowResult]
    interrupted: bool = False
    seconds: float = 0.0
    remote: object = None             # the Evals API's run report, with --to-openai

    @property
    def rows(self):
        """One row per model and data row: inputs, answer, expected, each grader's verdict, score and reason."""
        import pandas as pd

        records = []
        for r in self.rows_done:
            record = {"model": r.model, "row": r.index, **{f"input.{k}": v for k, v in r.inputs.items()},
                      "answer": r.answer, "expected": r.expected, "error": r.error, "latency": r.latency,
                      "cost": float(r.cost) if r.cost is not None else None, "cache_hit": r.cache_hit}
            for name, v in r.verdicts.items():
                record[f"{name}.pass"], record[f"{name}.score"], record[f"{name}.reason"] = v.passed, v.score, v.reason
            records.append(record)
        return pd.DataFrame(records)

    def board(self) -> list[dict]:
        """Per model and grader: passes over graded rows, the 95% interval, mean score, USD, latency."""
        out = []
        for model in self.request.models:
            mine = [r for r in self.rows_done if r.model == model]
            answered = [r for r in mine if r.error is None]
            latencies = [r.latency for r in answered if r.latency is not None]
            for grader in self.request.graders:
                verdicts = [r.verdicts[grader.name] for r in answered if grader.name in r.verdicts]
                passed = sum(v.passed for v in verdicts)
                low, high = wilson(passed, len(verdicts))
                costs = [r.cost for r in answered] + [v.cost for v in verdicts]
                out.append({"model": model, "grader": grader.name, "passed": passed, "graded": len(verdicts),
                            "errors": len(mine) - len(answered),
                            "pass_rate": passed / len(verdicts) if verdicts else float("nan"),
                            "ci_low": low, "ci_high": high,
                            "mean_score": sum(v.score for v in verdicts) / len(verdicts) if verdicts else float("nan"),
                            "usd": _sum(costs), "p50_s": percentile(latencies, 50), "p95_s": percentile(latencies, 95)})
        return out

    @property
    def scoreboard(self):
        import pandas as pd

        frame = pd.DataFrame(self.board())
        frame["usd"] = [float(u) if u is not None else None for u in frame["usd"]]
        return frame

    @property
    def total_cost(self) -> Decimal | None:
        return _sum([r.cost for r in self.rows_done] + [v.cost for r in self.rows_done for v in r.verdicts.values()])

    @property
    def summary_line(self) -> str:
        n, hits = len(self.rows_done), sum(r.cache_hit for r in self.rows_done)
        jobs = len(self.request.rows) * len(self.request.models)
        parts = [f"{n:,} of {jobs:,} answers", format_usd(self.total_cost), f"{hits:,} cached", f"{self.seconds:.1f} s"]
        if self.interrupted:
            parts.append("interrupted: finished rows kept")
        return " · ".join(parts)

    def _lines(self) -> list[list[str]]:
        return [[b["model"], b["grader"], f"{b['passed']}/{b['graded']}", _pct(b["pass_rate"]),
                 f"{_pct(b['ci_low'])}–{_pct(b['ci_high'])}", f"{b['mean_score']:.2f}", format_usd(b["usd"]),
                 f"{b['p50_s']:.1f} s", f"{b['p95_s']:.1f} s"] for b in self.board()]

    HEAD = ["model", "grader", "passed", "pass rate", "95% CI", "mean score", "USD", "p50", "p95"]

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in self.HEAD)
        body = "".join("<tr>" + "".join(f"<td>{escape_markup(c)}</td>" for c in line) + "</tr>"
                       for line in self._lines())
        remote = f"<p><b>OpenAI Evals run</b></p>{self.remote._repr_html_()}" if self.remote is not None else ""
        return (f'<table class="openai-magics-scoreboard {NO_MATHS}"><tr>{head}</tr>{body}</table>'
                f'<sub class="{NO_MATHS}">{escape_markup(self.summary_line)} · per row: <code>.rows</code></sub>'
                f'{remote}')

    def _repr_pretty_(self, p, cycle) -> None:
        lines = [self.HEAD, *self._lines()]
        widths = [max(len(line[i]) for line in lines) for i in range(len(self.HEAD))]
        text = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
        if self.remote is not None:
            text += ["", "OpenAI Evals run:", repr(self.remote)]
        p.text("\n".join([*text, "", self.summary_line]))


def _pct(value: float) -> str:
    return "–" if value != value else f"{value:.0%}"


def _sum(values) -> Decimal | None:
    total = Decimal(0)
    for value in values:
        if value is None:
            return None
        total += value
    return total
