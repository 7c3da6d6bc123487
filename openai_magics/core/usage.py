"""What one API call consumed, read from whichever shape the API returned."""
from __future__ import annotations

from dataclasses import dataclass

# More tokens than any one call can use: a server that reports more is not reporting usage.
MOST_TOKENS = 50_000_000


def _get(obj, *path, default=0):
    for name in path:
        if obj is None:
            return default
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return default if obj is None else obj


@dataclass
class Usage:
    input_tokens: int = 0       # all prompt tokens, cached ones included (as the API reports them)
    cached_tokens: int = 0      # the part of input_tokens read from OpenAI's prompt cache
    output_tokens: int = 0      # all completion tokens, reasoning ones included
    reasoning_tokens: int = 0   # the part of output_tokens spent thinking
    images: int = 0
    audio_seconds: float = 0.0
    characters: int = 0

    @classmethod
    def from_chat(cls, usage) -> "Usage | None":
        """None when the server's numbers cannot be usage (the caller estimates instead)."""
        return sane(cls(
            input_tokens=_get(usage, "prompt_tokens"),
            cached_tokens=_get(usage, "prompt_tokens_details", "cached_tokens"),
            output_tokens=_get(usage, "completion_tokens"),
            reasoning_tokens=_get(usage, "completion_tokens_details", "reasoning_tokens"),
        ))

    @classmethod
    def from_responses(cls, usage) -> "Usage | None":
        return sane(cls(
            input_tokens=_get(usage, "input_tokens"),
            cached_tokens=_get(usage, "input_tokens_details", "cached_tokens"),
            output_tokens=_get(usage, "output_tokens"),
            reasoning_tokens=_get(usage, "output_tokens_details", "reasoning_tokens"),
        ))

    @classmethod
    def from_embeddings(cls, usage) -> "Usage | None":
        return sane(cls(input_tokens=_get(usage, "prompt_tokens")))

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(**{k: getattr(self, k) + getattr(other, k) for k in self.__dataclass_fields__})


def sane(usage: Usage) -> Usage | None:
    """The usage when every number is a whole count from 0 to MOST_TOKENS and the parts fit their totals
    (negative or absurd numbers from a compatible server are refused, never priced)."""
    counts = (usage.input_tokens, usage.cached_tokens, usage.output_tokens, usage.reasoning_tokens)
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MOST_TOKENS for n in counts):
        return None
    if usage.cached_tokens > usage.input_tokens or usage.reasoning_tokens > usage.output_tokens:
        return None
    return usage
