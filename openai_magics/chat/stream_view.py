"""Live views of a streamed answer: an anywidget in notebooks, plain text in a terminal."""
from __future__ import annotations

import sys
import time
from functools import cache

from openai_magics.metering.pricing import format_usd
from openai_magics.metering.usage import Usage
from openai_magics.views.bare_widget import BareWidget, bare_will_do
from openai_magics.views.live import LivePlaceholder, widget_asset
from openai_magics.views.usage_line import MIN_GENERATION_SECONDS

MAX_MESSAGES_PER_SECOND = 20
ANYWIDGET_ID = "openai_magics.chat.stream_view.StreamChannel"
_channel = None


def _open_channel():
    """The kernel's one live-view widget, never displayed and never closed: its module and style reach the page
    once per kernel, and every answer's messages, tagged with its placeholder's anchor, go through it.

    The Markdown renderer (marked) travels in the opening state only: the page reads it before any later message
    is applied, keeps it, and asks again (`{"want": "renderer"}`) if it ever opens without it, so a notebook
    saved by a headless run does not keep 72 KB of it.

    A bare comm while that will do (a first answer need not import ipywidgets); an `AnyWidget` once ipywidgets
    is loaded, which a reloaded page restores through ipywidgets."""
    esm, css = (widget_asset(name).read_text(encoding="utf-8") for name in ("stream.js", "stream.css"))
    if bare_will_do():
        channel = BareWidget(ANYWIDGET_ID, esm, css, renderer=_renderer_source())
        channel.set_state(renderer="")
    else:
        channel = _channel_class()(_esm=esm, _css=css, renderer=_renderer_source())
        channel.renderer = ""
    channel.on_msg(_answer_page)
    return channel


@cache  # one class per kernel: making one costs traitlets a new class
def _channel_class():
    import traitlets

    from openai_magics.wire.sdk import heavy_import

    anywidget = heavy_import("anywidget")

    class StreamChannel(anywidget.AnyWidget):
        _esm = traitlets.Unicode("").tag(sync=True)
        _css = traitlets.Unicode("").tag(sync=True)
        renderer = traitlets.Unicode("").tag(sync=True)

    return StreamChannel


def _answer_page(channel, content, _buffers) -> None:
    if isinstance(content, dict) and content.get("want") == "renderer":
        channel.send({"renderer": _renderer_source()})


def _renderer_source() -> str:
    return widget_asset("marked.esm.js").read_text(encoding="utf-8")


def stream_channel():
    """This kernel's stream channel, opened on first use (again if something closed it, or once ipywidgets is
    loaded and a bare one could not be restored by a reloaded page)."""
    global _channel
    if _channel is None or _channel.comm is None or (isinstance(_channel, BareWidget) and not bare_will_do()):
        # A bare channel replaced stays open, unused: closing it would make a page that never had it log
        # "Comm not found".
        _channel = _open_channel()
    return _channel


class WidgetStreamView:
    """Sends deltas, coalesced to at most MAX_MESSAGES_PER_SECOND, with live counters, through the kernel's
    stream channel into this answer's placeholder output."""

    def __init__(self):
        self._channel = None
        self._live = None
        self._pending: list[str] = []
        self._last_flush = 0.0
        self._tokens = 0
        self._elapsed = 0.0
        self._first_token: float | None = None
        self._prices = None

    def start(self, request, prices) -> None:
        """`prices`: the model's, from the session the call runs in (None when unknown)."""
        self._channel = stream_channel()
        self._live = LivePlaceholder()
        self._send(m=request.model)
        self._last_flush = float("-inf")  # the first token shows at once; the next wait out an interval
        self._prices = prices

    def _send(self, **message) -> None:
        self._channel.send({"a": self._live.anchor, **message})

    def delta(self, text: str, tokens: int, elapsed: float) -> None:
        self._pending.append(text)
        self._tokens, self._elapsed = tokens, elapsed
        if self._first_token is None:
            self._first_token = elapsed
        now = time.monotonic()
        if now - self._last_flush >= 1 / MAX_MESSAGES_PER_SECOND:
            self._flush(now)

    def _flush(self, now: float, **ending) -> None:
        cost = self._prices.cost(Usage(output_tokens=self._tokens)) if self._prices else None
        generating = self._elapsed - self._first_token  # set by the delta that made anything pending
        self._send(t="".join(self._pending), n=self._tokens, s=round(self._elapsed, 2),
                   f=round(self._first_token, 2),
                   r=round(self._tokens / generating) if generating >= MIN_GENERATION_SECONDS else 0,
                   c=format_usd(cost, approx=True) + " out" if cost is not None else "", **ending)
        self._pending.clear()
        self._last_flush = now

    def finish(self, result) -> None:
        status = "interrupted" if result.interrupted else "done"
        if self._pending:  # the last text and the end in one message
            self._flush(time.monotonic(), status=status)
        else:
            self._send(status=status)
        self._live.retire()  # the result that follows is the persistent output

    def abort(self) -> None:
        """The call failed before any answer: the error line says it all."""
        self._send(status="done")
        self._live.retire()


class TerminalStreamView:
    """Plain terminal IPython: the answer streamed to stdout, then the usage line."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def start(self, request, prices) -> None: ...

    def delta(self, text: str, tokens: int, elapsed: float) -> None:
        self.stream.write(text)
        self.stream.flush()

    def abort(self) -> None: ...

    def finish(self, result) -> None:
        notes = "".join(f"\n{n}" for n in result.notes)
        self.stream.write(f"\n{notes}\n{result.usage_line}\n")
        self.stream.flush()
