"""The rounds of a tool loop, on either API: each round held to the budget, its answer paid for, then the
tools run before the next round; streamed, each round's events in turn."""
from __future__ import annotations

from contextlib import nullcontext

from openai_magics.chat.request import response_format_of
from openai_magics.chat.structured import check_json_mode, parse_answer


class RoundsLoop:
    """What a tool loop shares on both APIs (mixed in before its runner). The loop defines `send_round()` (one
    non-streamed round's answer), `paid(answer)`, `after_round(answer)` (False when no tool was called),
    `prompt_tokens()` and `worst_output()`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        r = self.request
        if r.json_mode:
            check_json_mode(self.messages)
        self.format = response_format_of(r)
        self.tools = {t.name: t for t in r.tools}
        self.calls: list = []
        self.rounds = 0
        self.estimated = False
        self.refusal = self.parsed = self.problem = None

    def create(self):
        for _ in range(self.request.max_rounds):
            with self.round_hold():
                with self.session.api_errors(self.request.model):
                    answer = self.send_round()
                self.paid(answer)
            if not self.after_round(answer):
                break
        return answer

    def budget_hold(self):
        return nullcontext()  # each round holds its own

    def round_hold(self):
        """The budget held for one round: its prompt (grown by the rounds before) and the most it may write."""
        return self.session.spending(self.request.model, lambda: self.prompt_tokens().tokens, self.worst_output())

    def has_output(self) -> bool:
        return bool(self.calls or self.refusal or self.parsed is not None)

    def extend(self, result) -> None:
        """The loop's tool calls, parsed answer or refusal on the result (a replayed answer is parsed again)."""
        if self.cached is not None and self.cached.hit is not None:
            self.parsed, self.problem = parse_answer(result.text, None, self.format)
        result.parsed, result.refusal, result.tool_calls = self.parsed, self.refusal, self.calls
        result.tools_offered = bool(self.tools)
        result.incomplete = result.incomplete or self.problem


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
