"""What one API call consumed, read from whichever shape the API returned."""
from __future__ import annotations

from dataclasses import dataclass


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
    def from_chat(cls, usage) -> "Usage":
        return cls(
            input_tokens=_get(usage, "prompt_tokens"),
            cached_tokens=_get(usage, "prompt_tokens_details", "cached_tokens"),
            output_tokens=_get(usage, "completion_tokens"),
            reasoning_tokens=_get(usage, "completion_tokens_details", "reasoning_tokens"),
        )

    @classmethod
    def from_responses(cls, usage) -> "Usage":
        return cls(
            input_tokens=_get(usage, "input_tokens"),
            cached_tokens=_get(usage, "input_tokens_details", "cached_tokens"),
            output_tokens=_get(usage, "output_tokens"),
            reasoning_tokens=_get(usage, "output_tokens_details", "reasoning_tokens"),
        )

    @classmethod
    def from_embeddings(cls, usage) -> "Usage":
        return cls(input_tokens=_get(usage, "prompt_tokens"))

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(**{k: getattr(self, k) + getattr(other, k) for k in self.__dataclass_fields__})
