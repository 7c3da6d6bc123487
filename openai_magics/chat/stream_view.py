"""Live views of a streamed answer: an anywidget in notebooks, plain text in a terminal."""
from __future__ import annotations

import sys
import time
from functools import cache

from openai_magics.core.pricing import format_usd
from openai_magics.core.usage import Usage
from openai_magics.views.live import LiveWidget, widget_asset
from openai_magics.views.usage_line import MIN_GENERATION_SECONDS

MAX_MESSAGES_PER_SECOND = 20
# The Markdown renderer goes to the browser with this kernel's first live view that lasts long enough for the
# page to have taken it (a view over sooner may be gone before the browser loaded its module).
RENDERER_TAKEN_SECONDS = 1.0
_renderer_sent = False


@cache  # one class per kernel: making it reads its module and style, and costs traitlets a new class
def _widget_class():
    import anywidget
    import traitlets

    class StreamWidget(anywidget.AnyWidget):
        _esm = widget_asset("stream.js")
        _css = widget_asset("stream.css")
        model_name = traitlets.Unicode("").tag(sync=True)
        status = traitlets.Unicode("streaming").tag(sync=True)
        anchor = traitlets.Unicode("").tag(sync=True)    # the placeholder output this model fills
        renderer = traitlets.Unicode("").tag(sync=True)  # marked's ES module, or "" when the page has it

    return StreamWidget


def _renderer_once() -> str:
    return "" if _renderer_sent else widget_asset("marked.esm.js").read_text(encoding="utf-8")


def _release_renderer(widget, lived: float) -> None:
    """Empty the widget's renderer trait: a headless run saves every widget's last state in the notebook."""
    global _renderer_sent
    if widget.renderer:
        widget.renderer = ""
        _renderer_sent = _renderer_sent or lived >= RENDERER_TAKEN_SECONDS


class WidgetStreamView:
    """Sends deltas, coalesced to at most MAX_MESSAGES_PER_SECOND, with live counters."""

    def __init__(self):
        self.widget = None
        self._live = None
        self._pending: list[str] = []
        self._last_flush = 0.0
        self._tokens = 0
        self._elapsed = 0.0
        self._first_token: float | None = None
        self._prices = None
        self._started = 0.0

    def start(self, request) -> None:
        self._live = LiveWidget.anchored(_widget_class(), model_name=request.model, renderer=_renderer_once())
        self.widget = self._live.widget
        self._started = time.monotonic()
        from openai_magics.core.session import session

        self._prices = session().prices_for(request.model)

    def delta(self, text: str, tokens: int, elapsed: float) -> None:
        self._pending.append(text)
        self._tokens, self._elapsed = tokens, elapsed
        if self._first_token is None:
            self._first_token = elapsed
        now = time.monotonic()
        if now - self._last_flush >= 1 / MAX_MESSAGES_PER_SECOND:
            self._flush(now)

    def _flush(self, now: float) -> None:
        cost = self._prices.cost(Usage(output_tokens=self._tokens)) if self._prices else None
        generating = self._elapsed - self._first_token
        self.widget.send({"t": "".join(self._pending), "n": self._tokens, "s": round(self._elapsed, 2),
                          "f": round(self._first_token, 2),
                          "r": round(self._tokens / generating) if generating >= MIN_GENERATION_SECONDS else 0,
                          "c": format_usd(cost, approx=True) + " out" if cost is not None else ""})
        self._pending.clear()
        self._last_flush = now

    def finish(self, result) -> None:
        if self._pending:
            self._flush(time.monotonic())
        self.widget.status = "interrupted" if result.interrupted else "done"
        self._retire()

    def _retire(self) -> None:
        _release_renderer(self.widget, time.monotonic() - self._started)
        self._live.retire()  # the result that follows is the persistent output

    def abort(self) -> None:
        """The call failed before any answer: the error line says it all."""
        self.widget.status = "done"
        self._retire()


class TerminalStreamView:
    """Plain terminal IPython: the answer streamed to stdout, then the usage line."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def start(self, request) -> None: ...

    def delta(self, text: str, tokens: int, elapsed: float) -> None:
        self.stream.write(text)
        self.stream.flush()

    def abort(self) -> None: ...

    def finish(self, result) -> None:
        notes = "".join(f"\n{n}" for n in result.notes)
        self.stream.write(f"\n{notes}\n{result.usage_line}\n")
        self.stream.flush()
