"""What one API call consumed, read from whichever shape the API returned."""
from __future__ import annotations

from dataclasses import dataclass, fields

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
    input_tokens: int = 0        # all prompt tokens, cached, audio and image ones included (as the API reports them)
    cached_tokens: int = 0       # the part of input_tokens read from OpenAI's prompt cache
    output_tokens: int = 0       # all completion tokens, reasoning, audio and image ones included
    reasoning_tokens: int = 0    # the part of output_tokens spent thinking
    input_audio_tokens: int = 0  # the part of input_tokens that was audio
    input_image_tokens: int = 0  # the part of input_tokens that was images
    output_audio_tokens: int = 0
    output_image_tokens: int = 0
    images: int = 0              # images made (or, for chat, sent: those are billed as input tokens)
    image_size: str = ""         # e.g. 1024x1024, for models billed per image
    image_quality: str = ""      # standard/hd, low/medium/high
    audio_seconds: float = 0.0
    characters: int = 0
    service_tier: str = ""       # the tier the response says served it (flex, priority…): priced at that tier
    video_seconds: float = 0.0   # seconds of video made
    video_size: str = ""         # e.g. 1280x720, for video billed per second by size
    web_searches: int = 0        # hosted tools: web search calls,
    file_searches: int = 0       # file search calls,
    containers: int = 0          # code interpreter container sessions opened,
    stored_bytes: int = 0        # and a vector store's size, billed per GB-day (one day per record)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @classmethod
    def from_chat(cls, usage, service_tier: str | None = None) -> "Usage | None":
        """None when the server's numbers cannot be usage (the caller estimates instead)."""
        return cls._from_token_usage(usage, service_tier, "prompt", "completion")

    @classmethod
    def from_responses(cls, usage, service_tier: str | None = None) -> "Usage | None":
        return cls._from_token_usage(usage, service_tier, "input", "output")

    @classmethod
    def _from_token_usage(cls, usage, service_tier: str | None, given: str, made: str) -> "Usage | None":
        """Chat Completions and Responses report the same numbers under other names: `prompt`/`completion` or
        `input`/`output` before `_tokens` and `_tokens_details`."""
        return sane(cls(
            service_tier=_tier(service_tier),
            input_tokens=_get(usage, f"{given}_tokens"),
            cached_tokens=_get(usage, f"{given}_tokens_details", "cached_tokens"),
            output_tokens=_get(usage, f"{made}_tokens"),
            reasoning_tokens=_get(usage, f"{made}_tokens_details", "reasoning_tokens"),
            input_audio_tokens=_get(usage, f"{given}_tokens_details", "audio_tokens"),
            output_audio_tokens=_get(usage, f"{made}_tokens_details", "audio_tokens"),
        ))

    @classmethod
    def from_embeddings(cls, usage) -> "Usage | None":
        return sane(cls(input_tokens=_get(usage, "prompt_tokens")))

    @classmethod
    def from_images(cls, usage, images: int, size: str = "", quality: str = "") -> "Usage | None":
        """An Images API answer: GPT image models report tokens (text and image in, image out); DALL·E none."""
        output = _get(usage, "output_tokens")
        return sane(cls(
            input_tokens=_get(usage, "input_tokens"),
            input_image_tokens=_get(usage, "input_tokens_details", "image_tokens"),
            output_tokens=output,
            output_image_tokens=_get(usage, "output_tokens_details", "image_tokens", default=output),
            images=images, image_size=size, image_quality=quality,
        ))

    @classmethod
    def from_transcription(cls, usage, seconds: float = 0.0) -> "Usage | None":
        """A transcription's usage: tokens (`type: tokens`, audio ones among the input) or a duration."""
        return sane(cls(
            input_tokens=_get(usage, "input_tokens"),
            input_audio_tokens=_get(usage, "input_token_details", "audio_tokens"),
            output_tokens=_get(usage, "output_tokens"),
            audio_seconds=float(_get(usage, "seconds", default=seconds) or 0.0),
        ))

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(**{f.name: _plus(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)})


def _tier(reported) -> str:
    """The service tier a response reports, when it is a plain name (anything else is not priced by tier)."""
    return reported if isinstance(reported, str) and reported.isidentifier() and len(reported) < 40 else ""


def _plus(a, b):
    if isinstance(a, str):  # sizes and qualities: kept when they agree
        return a if a == b or not b else b if not a else "mixed"
    return a + b


def sane(usage: Usage) -> Usage | None:
    """The usage when every number is a whole count from 0 to MOST_TOKENS and the parts fit their totals
    (negative or absurd numbers from a compatible server are refused, never priced)."""
    counts = (usage.input_tokens, usage.cached_tokens, usage.output_tokens, usage.reasoning_tokens,
              usage.input_audio_tokens, usage.input_image_tokens, usage.output_audio_tokens,
              usage.output_image_tokens, usage.images, usage.characters, usage.web_searches, usage.file_searches,
              usage.containers)
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MOST_TOKENS for n in counts):
        return None
    for seconds in (usage.audio_seconds, usage.video_seconds):
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 <= seconds <= MOST_TOKENS:
            return None
    inputs = usage.cached_tokens, usage.input_audio_tokens + usage.input_image_tokens
    outputs = usage.reasoning_tokens, usage.output_audio_tokens + usage.output_image_tokens
    if max(inputs) > usage.input_tokens or max(outputs) > usage.output_tokens:
        return None
    return usage
