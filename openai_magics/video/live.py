"""While a video is made: its job's status and percent done, a bar, and the time elapsed (a views.live LiveText:
the saved notebook keeps nothing of it, only the player that follows). A progress view of views.progress's
protocol, whose Tally is the job's status and percent."""
from __future__ import annotations


class WidgetVideoView:
    def __init__(self, what: str):
        self._what = what  # the video asked for, in a few words
        self._text = self.tally = None

    def start(self, tally) -> None:
        import ipywidgets

        from openai_magics.views.live import LiveText

        self.tally = tally
        self.bar = ipywidgets.IntProgress(value=0, min=0, max=100, layout=ipywidgets.Layout(width="320px"))
        self._text = LiveText(self._line, self.bar)

    def _line(self, seconds: float) -> str:
        status = (self.tally.status or "").replace("_", " ")
        return f"<small>{self._what}: {status} {self.tally.done}% · {seconds:.1f} s</small>"

    def update(self, force: bool = False) -> None:
        self.bar.value = self.tally.done
        self._text.redraw()

    def finish(self) -> None:
        if self._text is not None:
            self._text.retire()  # the player (or the error line) says the rest
