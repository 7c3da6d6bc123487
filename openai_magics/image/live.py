"""While an image is made: the partial images as they arrive (models that stream them), else a progress line
with the time elapsed. A LiveWidget: the saved notebook keeps nothing of it, only the gallery that follows."""
from __future__ import annotations

import threading
import time

from openai_magics.views.live import LiveWidget

TICK = 0.25  # seconds between updates of the elapsed time


class WidgetImageView:
    def __init__(self):
        self.partials: list[bytes] = []
        self._live = None
        self._stop = threading.Event()
        self._started = 0.0
        self._what = ""

    def start(self, request) -> None:
        import ipywidgets

        self._what = request.describe()
        self._started = time.perf_counter()
        self.label = ipywidgets.HTML(value=self._line())
        self.picture = ipywidgets.Image(format="png", width=256, layout=ipywidgets.Layout(display="none"))
        self._live = LiveWidget(ipywidgets.VBox([self.label, self.picture]))
        threading.Thread(target=self._tick, name="openai-magics-image-progress", daemon=True).start()

    def _line(self) -> str:
        seen = f" · partial image {len(self.partials)}" if self.partials else ""
        return f"<small>{self._what}: drawing… {time.perf_counter() - self._started:.1f} s{seen}</small>"

    def _tick(self) -> None:
        while not self._stop.wait(TICK):
            self.label.value = self._line()

    def partial(self, data: bytes, index: int) -> None:
        self.partials.append(data)
        self.picture.value = data
        self.picture.layout.display = ""
        self.label.value = self._line()

    def finish(self, ok: bool) -> None:
        self._stop.set()
        if self._live is not None:
            self._live.retire()  # the gallery (or the error line) says the rest
