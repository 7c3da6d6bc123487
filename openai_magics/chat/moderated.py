"""`%%chat --moderate`: the prompt checked before it is sent, the answer checked as it streams in."""
from __future__ import annotations

from openai_magics.core.errors import UsageError
from openai_magics.moderation.check import moderate

CHECK_EVERY_CHARS = 200  # a check per this much new answer text: a few free calls per answer


class StreamStopped(Exception):
    """Raised from a view to end a stream on purpose; the runner keeps what arrived, marked incomplete."""


def refuse_if_flagged(session, prompt: str) -> None:
    verdicts, _ = moderate(session, prompt, magic="chat --moderate")
    if verdicts[0].flagged:
        raise UsageError(f"Refused before sending: moderation flagged the prompt ({verdicts[0].summary}).")


class ModeratedView:
    """Passes everything to the view it wraps, and stops the stream once the answer so far is flagged."""

    def __init__(self, inner, session, every: int = CHECK_EVERY_CHARS):
        self.inner, self.session, self.every = inner, session, every
        self.text, self.checked = "", 0

    def start(self, request) -> None:
        self.inner.start(request)

    def delta(self, text: str, tokens: int, elapsed: float) -> None:
        self.text += text
        self.inner.delta(text, tokens, elapsed)
        if len(self.text) - self.checked >= self.every:
            reason = self._flagged()
            if reason:
                raise StreamStopped(reason)

    def finish(self, result) -> None:
        if len(self.text) > self.checked and not result.incomplete and not result.interrupted:
            result.incomplete = self._flagged()  # the end of the answer, after the last check
        self.inner.finish(result)

    def abort(self) -> None:
        self.inner.abort()

    def _flagged(self) -> str | None:
        verdicts, _ = moderate(self.session, self.text, magic="chat --moderate")
        self.checked = len(self.text)
        if not verdicts[0].flagged:
            return None
        return f"stopped: moderation flagged the answer ({verdicts[0].summary})"
