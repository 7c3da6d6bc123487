"""A progress bar for embeddings that span several requests (an ipywidgets IntProgress).

It is a LiveWidget: a saved notebook keeps nothing of it, however fast the requests came back; the
usage line under the result says how many requests there were.
"""
from __future__ import annotations

from openai_magics.views.live import LiveWidget


class WidgetProgress:
    """One step per request; the label counts texts."""

    def __init__(self):
        self.bar = None
        self._live = None
        self.texts = self.done = 0

    def start(self, requests: int, texts: int) -> None:
        import ipywidgets

        self.texts, self.done = texts, 0
        self.bar = ipywidgets.IntProgress(value=0, min=0, max=requests, description=f"0/{texts:,} texts",
                                          style={"description_width": "initial"})
        self._live = LiveWidget(self.bar)

    def advance(self, texts: int) -> None:
        self.done += texts
        self.bar.value += 1
        self.bar.description = f"{self.done:,}/{self.texts:,} texts"

    def finish(self, ok: bool) -> None:
        self._live.retire()  # done or failed, the result or the error line says the rest
