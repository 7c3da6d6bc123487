"""Progress of work over many rows (a `--over` fan-out, `%%embed`'s requests, an eval, a batch…): the one
progress protocol.

The work keeps a `Tally` — done, failed, total, tokens, USD so far, and an ETA from the pace so far — and
tells its progress view `start(tally)` once, `update(force=False)` after changing it (a view may skip
updates that come too fast), and `finish()` at the end, whether it ended well or not. `RowProgress` shows the
tally's line beside a progress bar while the work runs: a LiveWidget, so a saved notebook keeps nothing of it
but the result. `NoRowProgress` shows nothing (quiet cells, terminals, plain Python).
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from openai_magics.metering.pricing import format_usd

UPDATE_EVERY = 0.1  # seconds between widget updates: thousands of rows must not mean thousands of messages


@dataclass
class Tally:
    total: int
    done: int = 0
    failed: int = 0
    tokens: int = 0
    cost: Decimal | None = Decimal(0)  # None once a row's price is unknown
    worst: Decimal | None = None       # the run's worst case, when known
    started: float = field(default_factory=time.monotonic)
    status: str | None = None          # a batch's state (validating, in_progress…)
    priced: bool = True                # False while the cost is not known yet (a batch, until collected)
    unit: str = "done"                 # what is counted: rows ("done"), or texts…; said on the bar

    def add(self, ok: bool, tokens: int = 0, cost: Decimal | None = Decimal(0), count: int = 1) -> None:
        """`count` more finished (a request of many texts is many), well or not."""
        self.done += count * ok
        self.failed += count * (not ok)
        self.tokens += tokens
        self.cost = None if cost is None or self.cost is None else self.cost + cost

    @property
    def finished(self) -> int:
        return self.done + self.failed

    def eta(self) -> float | None:
        if not self.finished or self.finished >= self.total:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed / self.finished * (self.total - self.finished)

    def count(self) -> str:
        return f"{self.done:,}/{self.total:,} {self.unit}"

    def line(self, counted: bool = True) -> str:
        """The figures in one line; without the count when `counted` is False (a bar that says it)."""
        parts = [self.count()] if counted else []
        if self.failed:
            parts.append(f"{self.failed:,} failed")
        if self.status:
            parts.append(self.status)
        if self.tokens:
            parts.append(f"{self.tokens:,} tokens")
        if self.priced:
            parts.append(format_usd(self.cost) + " so far")
        eta = self.eta()
        if eta is not None:
            parts.append(f"ETA {eta:,.0f} s")
        if self.worst is not None:
            parts.append(f"worst case {format_usd(self.worst)}")
        return " · ".join(parts)


@contextmanager
def progress_shown(progress, tally: Tally):
    """`progress` started over `tally` for the block, then brought up to date and finished however it ends."""
    progress.start(tally)
    try:
        yield
    finally:
        progress.update(force=True)
        progress.finish()


class NoRowProgress:
    def start(self, tally: Tally) -> None: ...
    def update(self, force: bool = False) -> None: ...
    def finish(self) -> None: ...


class RowProgress:
    """A progress bar and the tally's line, live while the work runs."""

    def __init__(self) -> None:
        self.tally: Tally | None = None
        self._live = self._bar = self._label = None
        self._shown = 0.0

    def start(self, tally: Tally) -> None:
        import ipywidgets

        from openai_magics.views.live import LiveWidget

        self.tally = tally
        self._bar = ipywidgets.IntProgress(value=0, min=0, max=max(tally.total, 1),
                                           style={"description_width": "initial"})
        self._label = ipywidgets.HTML()
        self._redraw()
        self._live = LiveWidget(ipywidgets.HBox([self._bar, self._label]))

    def update(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._bar is None or not force and now - self._shown < UPDATE_EVERY:
            return
        self._shown = now
        self._redraw()

    def _redraw(self) -> None:
        tally = self.tally
        self._bar.max = max(tally.total, 1)
        self._bar.value = tally.finished
        self._bar.bar_style = "warning" if tally.failed else ""
        on_bar = tally.unit != "done"  # "12/1,000 texts" on the bar itself; rows keep the plain bar
        self._bar.description = tally.count() if on_bar else ""
        self._label.value = _line_html(tally.line(counted=not on_bar))

    def finish(self) -> None:
        if self._live is not None:
            self._live.retire()
            self._live = None


def _line_html(line: str) -> str:
    """The line as HTML no maths typesetter touches (two dollar amounts would become maths)."""
    from openai_magics.views.markup import NO_MATHS, escape_markup

    return f'<span class="{NO_MATHS}">{escape_markup(line)}</span>'
