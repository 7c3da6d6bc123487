"""What a fine-tuning cell shows: the preparation report, a job (events and its loss chart), a list of jobs."""
from __future__ import annotations


from openai_magics.metering.pricing import format_usd
from openai_magics.finetune.engine import FineTuneJob
from openai_magics.finetune.prepare import Preparation
from openai_magics.views.markup import NO_MATHS, escape_markup
from openai_magics.views.result_parts import forwarded
from openai_magics.facts.tokens import why_estimated

CHART_WIDTH, CHART_HEIGHT, MARGIN = 320, 140, 34


class PrepareReport:
    def __init__(self, preparation: Preparation):
        self.preparation = preparation

    @property
    def problems(self):
        return self.preparation.problems

    def lines(self) -> list[str]:
        p = self.preparation
        if p.problems:
            return [f"{p.name}: {len(p.problems)} problem{'s' * (len(p.problems) != 1)}; nothing uploaded.",
                    *[f"  {problem}" for problem in p.problems]]
        mark = "" if p.exact else "≈"
        counts = ", ".join(f"line {line}: {mark}{n:,}" for line, n in p.tokens.items())
        lines = [f"{p.name}: {len(p.tokens)} examples, {mark}{p.total:,} tokens for {p.model} ({counts})"]
        why = None if p.exact else why_estimated(p.model)
        if why:
            lines.append(f"  ≈ {why}")
        if p.over_limit:
            lines.append(f"  over the {p.limit:,}-token limit of one example: lines "
                         + ", ".join(map(str, p.over_limit)))
        if p.cost_per_epoch is None:
            lines.append(f"  training cost: unknown for {p.model}")
        else:
            lines.append(f"  training cost: {format_usd(p.cost_per_epoch, not p.exact)} per epoch, "
                         f"{format_usd(p.cost_default, not p.exact)} for {p.epochs} epochs (the usual automatic "
                         "choice)")
        return lines

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        body = "".join(f"<li>{escape_markup(line.strip())}</li>" for line in self.lines()[1:])
        return f'<div class="{NO_MATHS}"><b>{escape_markup(self.lines()[0])}</b><ul>{body}</ul></div>'


def loss_chart(losses: list[tuple[int, float]]) -> str:
    """A small labelled line chart of the training loss per step, as inline SVG (kept in a saved notebook)."""
    if not losses:
        return ""
    steps, values = [s for s, _ in losses], [v for _, v in losses]
    low, high = min(values), max(values)
    span_x, span_y = max(max(steps) - min(steps), 1), (high - low) or 1.0
    x = lambda s: MARGIN + (s - min(steps)) / span_x * (CHART_WIDTH - MARGIN - 8)  # noqa: E731
    y = lambda v: 8 + (high - v) / span_y * (CHART_HEIGHT - MARGIN - 8)  # noqa: E731
    points = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in losses)
    bottom = CHART_HEIGHT - MARGIN
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" '
        f'role="img" aria-label="training loss per step" style="font: 10px sans-serif">'
        f'<line x1="{MARGIN}" y1="8" x2="{MARGIN}" y2="{bottom}" stroke="currentColor" stroke-opacity="0.4"/>'
        f'<line x1="{MARGIN}" y1="{bottom}" x2="{CHART_WIDTH - 8}" y2="{bottom}" stroke="currentColor" '
        f'stroke-opacity="0.4"/>'
        f'<polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>'
        f'<text x="{MARGIN - 3}" y="12" text-anchor="end" fill="currentColor">{high:.2f}</text>'
        f'<text x="{MARGIN - 3}" y="{bottom}" text-anchor="end" fill="currentColor">{low:.2f}</text>'
        f'<text x="{MARGIN}" y="{bottom + 12}" fill="currentColor">{min(steps)}</text>'
        f'<text x="{CHART_WIDTH - 8}" y="{bottom + 12}" text-anchor="end" fill="currentColor">{max(steps)}</text>'
        f'<text x="{(CHART_WIDTH + MARGIN) / 2}" y="{CHART_HEIGHT - 4}" text-anchor="middle" '
        f'fill="currentColor">step</text>'
        f'<text x="10" y="{bottom / 2}" transform="rotate(-90 10 {bottom / 2})" text-anchor="middle" '
        f'fill="currentColor">training loss</text></svg>')


class JobView:
    """One job: its state, model, trained tokens and cost, latest events and the loss chart."""

    def __init__(self, job: FineTuneJob, recent: int = 6):
        self.job, self.recent = job, recent

    id = forwarded("job", "id")
    status = forwarded("job", "status")
    fine_tuned_model = forwarded("job", "fine_tuned_model")

    def summary(self) -> list[str]:
        j = self.job
        lines = [f"{j.id}: {j.status} ({j.model})"]
        if j.fine_tuned_model:
            lines.append(f"model: {j.fine_tuned_model}")
        if j.trained_tokens is not None:
            cost = "unknown" if j.cost is None else format_usd(j.cost)
            lines.append(f"trained tokens: {j.trained_tokens:,}, training cost {cost}")
        if j.losses:
            step, loss = j.losses[-1]
            lines.append(f"training loss: {loss:.3f} at step {step}")
        if j.error:
            lines.append(f"error: {j.error}")
        return lines

    def __repr__(self) -> str:
        events = [f"  {e}" for e in self.job.events[-self.recent:]]
        return "\n".join(self.summary() + (["events:"] + events if events else []))

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        head = "<br>".join(escape_markup(line) for line in self.summary())
        events = "".join(f"<li>{escape_markup(e)}</li>" for e in self.job.events[-self.recent:])
        return (f'<div class="{NO_MATHS}" style="display:flex;gap:1.5em;align-items:flex-start"><div>{head}'
                f'<ul style="margin:0.4em 0">{events}</ul></div>{loss_chart(self.job.losses)}</div>')


class JobList:
    def __init__(self, jobs: list[FineTuneJob]):
        self.jobs = jobs

    def __repr__(self) -> str:
        if not self.jobs:
            return "No fine-tuning jobs yet: `%openai finetune start FILE --model M` starts one."
        return "\n".join(f"{j.id}  {j.status:<16} {j.fine_tuned_model or j.model}" for j in self.jobs)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))
