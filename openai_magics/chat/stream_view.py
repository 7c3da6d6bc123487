"""Live views of a streamed answer: an anywidget in notebooks, plain text in a terminal."""
from __future__ import annotations

import sys
import time

from openai_magics.core.pricing import format_usd
from openai_magics.core.usage import Usage
from openai_magics.views.live import LiveWidget, widget_asset

MAX_MESSAGES_PER_SECOND = 20


def _widget_class():
    import anywidget
    import traitlets

    class StreamWidget(anywidget.AnyWidget):
        _esm = widget_asset("stream.js")
        _css = widget_asset("stream.css")
        model_name = traitlets.Unicode("").tag(sync=True)
        status = traitlets.Unicode("streaming").tag(sync=True)

        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs)
            data = bundle[0] if isinstance(bundle, tuple) else bundle
            # Static viewers and headless re-runs see this: nothing, the result that follows says it all.
            data["text/plain"] = ""
            return bundle

    return StreamWidget


class WidgetStreamView:
    """Sends deltas, coalesced to at most MAX_MESSAGES_PER_SECOND, with live counters."""

    def __init__(self):
        self.widget = None
        self._live = None
        self._pending: list[str] = []
        self._last_flush = 0.0
        self._tokens = 0
        self._elapsed = 0.0
        self._prices = None

    def start(self, request) -> None:
        self.widget = _widget_class()(model_name=request.model)
        from openai_magics.core.session import session

        self._prices = session().prices_for(request.model)
        self._live = LiveWidget(self.widget)

    def delta(self, text: str, tokens: int, elapsed: float) -> None:
        self._pending.append(text)
        self._tokens, self._elapsed = tokens, elapsed
        now = time.monotonic()
        if now - self._last_flush >= 1 / MAX_MESSAGES_PER_SECOND:
            self._flush(now)

    def _flush(self, now: float) -> None:
        cost = self._prices.cost(Usage(output_tokens=self._tokens)) if self._prices else None
        self.widget.send({"t": "".join(self._pending), "n": self._tokens, "s": round(self._elapsed, 2),
                          "r": round(self._tokens / self._elapsed) if self._elapsed > 0 else 0,
                          "c": format_usd(cost, approx=True) + " out" if cost is not None else ""})
        self._pending.clear()
        self._last_flush = now

    def finish(self, result) -> None:
        if self._pending:
            self._flush(time.monotonic())
        self.widget.status = "interrupted" if result.interrupted else "done"
        self._live.retire()  # the result that follows is the persistent output

    def abort(self) -> None:
        """The call failed before any answer: the error line says it all."""
        self.widget.status = "done"
        self._live.retire()


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
