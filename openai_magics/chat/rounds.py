"""The rounds of a streamed call, on either API: each round held to the budget, its events passed on, its
answer paid for, then the tools run before the next round."""
from __future__ import annotations


class StreamedRounds:
    """Iterates the events of every round. The runner's `stream_round(rounds)` opens one round's stream (kept
    in `rounds.stream`, so that an interrupt closes it), yields its events and returns its final answer."""

    def __init__(self, runner):
        self.runner, self.stream = runner, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.stream is not None:
            self.stream.close()

    def __iter__(self):
        runner = self.runner
        for _ in range(runner.request.max_rounds):
            with runner.round_hold():
                final = yield from runner.stream_round(self)
                runner.record_answer(final)
            if not runner.after_round(final):
                return
