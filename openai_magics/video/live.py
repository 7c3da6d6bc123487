"""While a video is made: its job's status and progress, a bar, and the time elapsed. A LiveWidget: the saved
notebook keeps nothing of it, only the player that follows."""
from __future__ import annotations

import threading
import time

TICK = 0.25  # seconds between updates of the elapsed time


class WidgetVideoView:
    def __init__(self):
        self._live = None
        self._stop = threading.Event()
        self._started = 0.0
        self._what = ""
        self.status, self.progress = "sending", 0

    def start(self, request) -> None:
        import ipywidgets

        from openai_magics.views.live import LiveWidget

        self._what = request.describe()
        self._started = time.perf_counter()
        self.label = ipywidgets.HTML(value=self._line())
        self.bar = ipywidgets.IntProgress(value=0, min=0, max=100, layout=ipywidgets.Layout(width="320px"))
        self._live = LiveWidget(ipywidgets.VBox([self.label, self.bar]))
        threading.Thread(target=self._tick, name="openai-magics-video-progress", daemon=True).start()

    def _line(self) -> str:
        return (f"<small>{self._what}: {self.status.replace('_', ' ')} {self.progress}% · "
                f"{time.perf_counter() - self._started:.1f} s</small>")

    def _tick(self) -> None:
        while not self._stop.wait(TICK):
            self.label.value = self._line()

    def update(self, job) -> None:
        self.status, self.progress = job.status, job.progress
        self.bar.value = job.progress
        self.label.value = self._line()

    def finish(self, ok: bool) -> None:
        self._stop.set()
        if self._live is not None:
            self._live.retire()  # the player (or the error line) says the rest
