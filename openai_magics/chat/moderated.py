"""`%%chat --moderate`: the prompt checked before it is sent, the answer checked as it streams in."""
from __future__ import annotations

from openai_magics.core.errors import UsageError
from openai_magics.moderation.check import moderate

CHECK_EVERY_CHARS = 200  # a check per this much new answer text: a few free calls per answer


class StreamStopped(Exception):
    """The runner ends a stream on purpose (moderation flagged it); it keeps what arrived, marked incomplete."""


def refuse_if_flagged(session, prompt: str) -> None:
    verdicts, _ = moderate(session, prompt, magic="chat --moderate")
    if verdicts[0].flagged:
        raise UsageError(f"Refused before sending: moderation flagged the prompt ({verdicts[0].summary}).")


class AnswerModeration:
    """Between the stream and the view: the answer so far checked every `every` new characters, and its end."""

    def __init__(self, session, every: int = CHECK_EVERY_CHARS):
        self.session, self.every = session, every
        self.text, self.checked = "", 0
        self.reason = None  # why the answer was flagged

    def check(self, text: str) -> str | None:
        """Why the answer so far is flagged (the stream stops), or None."""
        self.text += text
        return self._flagged() if len(self.text) - self.checked >= self.every else None

    def at_end(self) -> str | None:
        return self._flagged() if len(self.text) > self.checked else None

    def _flagged(self) -> str | None:
        verdicts, _ = moderate(self.session, self.text, magic="chat --moderate")
        self.checked = len(self.text)
        if not verdicts[0].flagged:
            return None
        self.reason = f"stopped: moderation flagged the answer ({verdicts[0].summary})"
        return self.reason
