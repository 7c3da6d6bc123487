"""While a video is made: its job's status and progress, a bar, and the time elapsed (a views.live LiveText:
the saved notebook keeps nothing of it, only the player that follows)."""
from __future__ import annotations


class WidgetVideoView:
    def __init__(self):
        self._text = None
        self._what = ""
        self.status, self.progress = "sending", 0

    def start(self, request) -> None:
        import ipywidgets

        from openai_magics.views.live import LiveText

        self._what = request.describe()
        self.bar = ipywidgets.IntProgress(value=0, min=0, max=100, layout=ipywidgets.Layout(width="320px"))
        self._text = LiveText(self._line, self.bar)

    def _line(self, seconds: float) -> str:
        return f"<small>{self._what}: {self.status.replace('_', ' ')} {self.progress}% · {seconds:.1f} s</small>"

    def update(self, job) -> None:
        self.status, self.progress = job.status, job.progress
        self.bar.value = job.progress
        self._text.redraw()

    def finish(self, ok: bool) -> None:
        if self._text is not None:
            self._text.retire()  # the player (or the error line) says the rest
