"""The streamed rounds of a tool loop, on either API: each round's events in turn, its answer paid for,
then the tools run before the next round."""
from __future__ import annotations


class StreamedRounds:
    """Iterates the events of every round; `_one_round` opens one round's stream (kept in `self.stream`, so an
    interrupt closes it), yields its events and returns its final answer."""

    def __init__(self, loop):
        self.loop, self.stream = loop, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.stream is not None:
            self.stream.close()

    def __iter__(self):
        loop = self.loop
        for _ in range(loop.request.max_rounds):
            with loop.round_hold():
                final = yield from self._one_round()
                loop.paid(final)
            if not loop.after_round(final):
                return

    def _one_round(self):
        raise NotImplementedError
