"""While an image is made: the partial images as they arrive (models that stream them), else a progress line
with the time elapsed (a views.live LiveText: the saved notebook keeps nothing of it, only the gallery that
follows)."""
from __future__ import annotations


class WidgetImageView:
    def __init__(self):
        self.partials: list[bytes] = []
        self._text = None
        self._what = ""

    def start(self, request) -> None:
        import ipywidgets

        from openai_magics.views.live import LiveText

        self._what = request.describe()
        self.picture = ipywidgets.Image(format="png", width=256, layout=ipywidgets.Layout(display="none"))
        self._text = LiveText(self._line, self.picture)

    def _line(self, seconds: float) -> str:
        seen = f" · partial image {len(self.partials)}" if self.partials else ""
        return f"<small>{self._what}: drawing… {seconds:.1f} s{seen}</small>"

    def partial(self, data: bytes, index: int) -> None:
        self.partials.append(data)
        self.picture.value = data
        self.picture.layout.display = ""
        self._text.redraw()

    def finish(self, ok: bool) -> None:
        if self._text is not None:
            self._text.retire()  # the gallery (or the error line) says the rest
