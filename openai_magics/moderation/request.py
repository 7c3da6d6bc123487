"""What a moderation call asks: texts (one per line with --lines) and a model."""
from __future__ import annotations

from dataclasses import dataclass

from openai_magics.core.errors import UsageError


@dataclass
class ModerationRequest:
    texts: list[str]
    model: str

    def __post_init__(self) -> None:
        if isinstance(self.texts, str):
            self.texts = [self.texts]
        if not self.texts or not all(isinstance(t, str) and t.strip() for t in self.texts):
            raise UsageError("Nothing to moderate: give a text (an empty one cannot be checked).")
        if not isinstance(self.model, str) or not self.model.strip():
            raise UsageError("Name a moderation model, e.g. -m omni-moderation-latest.")
