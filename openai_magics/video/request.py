"""One video request, checked as it is made against what its model takes (facts/data/video_models.json):
a length, size or first frame the model does not take is one line naming what it does take."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from openai_magics.facts.data import load
from openai_magics.core.errors import UsageError
from openai_magics.magics.images import NamedImage
from openai_magics.facts.models import base_name
from openai_magics.magics.parsing import either, model_rules

VIDEO_ID = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class VideoModel:
    """What one Videos API model takes."""

    name: str
    sizes: tuple
    seconds: tuple
    default_size: str
    default_seconds: int
    prompt_characters: int
    image_input: bool
    remix: bool


@lru_cache(maxsize=None)
def models() -> dict:
    return load("video_models.json")["models"]


def video_model(name: str) -> VideoModel:
    """The rules of `name` (a dated snapshot reads as its base)."""
    return model_rules(VideoModel, name, models().get(name) or models().get(base_name(name)), models(), "video")


@dataclass
class VideoRequest:
    prompt: str
    model: str | None            # None for a remix, which keeps the model of the video remixed
    seconds: int | None = None
    size: str | None = None
    image: NamedImage | None = None
    remix: str | None = None     # the id of a completed video to remix with this prompt
    cache: bool = True
    rules: VideoModel = field(init=False, repr=False)

    def __post_init__(self):
        if not self.prompt or not self.prompt.strip():
            raise UsageError("Nothing to film: the prompt is empty.")
        if isinstance(self.seconds, str) and self.seconds.strip().isdigit():  # "8", as the API spells it
            self.seconds = int(self.seconds)
        if self.remix is not None:
            self._check_remix()
        self.rules = r = video_model(self.model or next(iter(models())))
        if len(self.prompt) > r.prompt_characters:
            raise UsageError(f"The prompt is {len(self.prompt):,} characters; {r.name} takes at most "
                             f"{r.prompt_characters:,}.")
        if self.remix is not None:
            return
        if self.seconds is not None and self.seconds not in r.seconds:
            raise UsageError(f"--seconds {self.seconds}: {self.model} makes {either(r.seconds)} seconds.")
        if self.size is not None and self.size not in r.sizes:
            raise UsageError(f"--size {self.size}: {self.model} makes {either(r.sizes)}.")
        if self.image is not None:
            self._check_image()

    def _check_remix(self) -> None:
        if not VIDEO_ID.fullmatch(self.remix):
            raise UsageError(f"--remix {self.remix}: not a video id (like video_68d7…).")
        if any(v is not None for v in (self.model, self.seconds, self.size, self.image)):
            raise UsageError("--remix keeps the length, size and model of the video remixed: leave out --seconds, "
                             "--size, --image and -m.")

    def _check_image(self) -> None:
        if not self.rules.image_input:
            raise UsageError(f"--image: {self.model} does not start from an image.")
        width, height = self.image.image.size
        if f"{width}x{height}" != self.priced_size:
            raise UsageError(f"--image {self.image.label} is {width}x{height}; the first frame must be the size of "
                             f"the video ({self.priced_size}): resize it, or ask for --size {width}x{height} if "
                             f"{self.model} makes it ({either(self.rules.sizes)}).")

    # -- what is sent --
    @property
    def api(self) -> str:
        return "videos.remix" if self.remix else "videos"

    @property
    def priced_seconds(self) -> int:
        return self.seconds if self.seconds is not None else self.rules.default_seconds

    @property
    def priced_size(self) -> str:
        return self.size or self.rules.default_size

    def params(self) -> dict:
        """The request's fields, the first frame aside: all of them, so that what is made is what is priced."""
        if self.remix:
            return {"prompt": self.prompt}
        return {"model": self.model, "prompt": self.prompt, "seconds": str(self.priced_seconds),
                "size": self.priced_size}

    def key_params(self) -> dict:
        """What identifies the answer: the fields, the first frame by content hash, the video remixed."""
        key = dict(self.params())
        if self.image is not None:
            key["input_reference"] = self.image.digest
        if self.remix:
            key["remix"] = self.remix
        return key

    def describe(self) -> str:
        """`4 s 720x1280 video on sora-2`: what the request asks for, in one phrase."""
        if self.remix:
            return f"a remix of {self.remix}"
        return f"{self.priced_seconds} s {self.priced_size} video on {self.model}"
