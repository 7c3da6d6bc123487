"""A progress bar for embeddings that span several requests (an ipywidgets IntProgress).

Its text/plain is empty, so a saved notebook holds the same output however fast the requests came back;
the usage line under the result says how many requests there were.
"""
from __future__ import annotations


def _bar_class():
    import ipywidgets

    class EmbedProgressBar(ipywidgets.IntProgress):
        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs)
            data = bundle[0] if isinstance(bundle, tuple) else bundle
            data["text/plain"] = ""
            return bundle

    return EmbedProgressBar


class WidgetProgress:
    """One step per request; the label counts texts."""

    def __init__(self, display=None):
        self._display = display
        self.bar = None
        self.texts = self.done = 0

    def start(self, requests: int, texts: int) -> None:
        from IPython.display import display

        self.texts, self.done = texts, 0
        self.bar = _bar_class()(value=0, min=0, max=requests, description=f"0/{texts:,} texts",
                                style={"description_width": "initial"})
        (self._display or display)(self.bar)

    def advance(self, texts: int) -> None:
        self.done += texts
        self.bar.value += 1
        self.bar.description = f"{self.done:,}/{self.texts:,} texts"

    def finish(self, ok: bool) -> None:
        self.bar.bar_style = "success" if ok else "danger"
