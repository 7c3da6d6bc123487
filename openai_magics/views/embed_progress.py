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
    def __init__(self, display=None):
        self._display = display
        self.bar = None
        self._texts = 0

    def start(self, requests: int, texts: int) -> None:
        from IPython.display import display

        self._texts = texts
        self.bar = _bar_class()(value=0, min=0, max=requests, description=f"0/{texts:,}",
                                style={"description_width": "initial"})
        (self._display or display)(self.bar)

    def advance(self, texts: int) -> None:
        self.bar.value += 1
        done = int(self.bar.description.split("/")[0].replace(",", "")) + texts
        self.bar.description = f"{done:,}/{self._texts:,}"

    def finish(self, ok: bool) -> None:
        self.bar.bar_style = "success" if ok else "danger"
