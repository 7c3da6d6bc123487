"""Views: how a call shows while it runs (live widget, terminal text) and the widgets behind them."""
from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

from openai_magics.views.markup import NO_MATHS

WIDGETS_DIR_ENV = "OPENAI_MAGICS_WIDGETS_DIR"
TICK = 0.25  # seconds between redraws of a LiveText (its time elapsed moves on)


def widget_asset(name: str) -> Path:
    """A front-end module from `widgets/`: beside the package in a checkout, inside it in a wheel.

    `$OPENAI_MAGICS_WIDGETS_DIR` replaces both (the browser tier serves a deliberately broken copy from it)."""
    package = Path(__file__).resolve().parent.parent
    override = os.environ.get(WIDGETS_DIR_ENV)
    for folder in (Path(override),) if override else (package / "widgets", package.parent / "widgets"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"widget asset {name} not found")


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# JupyterLab's widget renderer hides a widget output whose model_id is "", while one whose model is gone
# (a reopened notebook without saved widget state) shows "Error displaying widget: model not found".
HIDDEN_WIDGET = {WIDGET_MIME: {"model_id": "", "version_major": 2, "version_minor": 1}, "text/plain": ""}


class LiveWidget:
    """A widget shown only while work runs, of which a saved notebook keeps nothing.

    Its text/plain is blank (static viewers and headless re-runs see nothing of it) and, once retired,
    its output is replaced by a hidden one, so a live run saves exactly what a headless run saves.
    """

    def __init__(self, widget):
        from IPython.display import display

        bundle = widget._repr_mimebundle_()
        data = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
        data["text/plain"] = ""
        self.widget = widget
        self._handle = display(data, raw=True, display_id=True)

    def retire(self) -> None:
        # Close first: JupyterLab logs a DOM error ("removeChild") if the view is removed after its output was.
        self.widget.close()
        self._handle.update(HIDDEN_WIDGET, raw=True)


class LivePlaceholder:
    """An empty output that a widget's front end fills while work runs, found by its `anchor` class.

    The widget itself is shown nowhere (an anywidget's `initialize` runs for every model, displayed or not), so
    one widget can serve every answer of a kernel, and a notebook saved mid-run keeps only the empty placeholder:
    it reopens showing nothing rather than "Error displaying widget: model not found"."""

    MARKUP = '<div class="oaim-live{} %s"></div>' % NO_MATHS

    def __init__(self):
        from IPython.display import display

        self.anchor = uuid.uuid4().hex
        self._handle = display({"text/html": self.MARKUP.format(f" oaim-live-{self.anchor}"), "text/plain": ""},
                               raw=True, display_id=True)

    def retire(self) -> None:
        # JupyterLab hides it (the widget part), static viewers show an empty div, and a re-run saves the same
        # keys as a notebook run live, so output comparisons (nbval) see no difference.
        self._handle.update({**HIDDEN_WIDGET, "text/html": self.MARKUP.format("")}, raw=True)


class LiveText:
    """A line of text that changes while work runs (what it does, how far it is, the seconds elapsed), with
    widgets under it (a bar, a picture); shown as a LiveWidget, so a saved notebook keeps nothing of it.

    `line(seconds)` makes the line's HTML; it is drawn again on `redraw()` and every TICK seconds."""

    def __init__(self, line, *below):
        import ipywidgets

        self._line, self._started, self._stop = line, time.perf_counter(), threading.Event()
        self.label = ipywidgets.HTML(value=self._text())
        self._live = LiveWidget(ipywidgets.VBox([self.label, *below]))
        threading.Thread(target=self._tick, name="openai-magics-live-text", daemon=True).start()

    def _text(self) -> str:
        return self._line(time.perf_counter() - self._started)

    def _tick(self) -> None:
        while not self._stop.wait(TICK):
            self.redraw()

    def redraw(self) -> None:
        self.label.value = self._text()

    def retire(self) -> None:
        self._stop.set()
        self._live.retire()


class LiveHtml:
    """A LiveText whose HTML the work sets as it goes (`show(html)`): shown from the first `show`, so work that
    shows nothing leaves no output at all, and retired at the end."""

    def __init__(self):
        self.html, self._text = "", None

    def show(self, html: str) -> None:
        self.html = html
        if self._text is None:
            self._text = LiveText(lambda _seconds: self.html)
        else:
            self._text.redraw()

    def retire(self) -> None:
        if self._text is not None:
            self._text.retire()
            self._text = None
