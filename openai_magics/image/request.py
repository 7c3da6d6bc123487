"""One image request, checked as it is made against what its model takes (facts/data/image_models.json):
a size, quality, count, style or option the model does not take is one line naming what it does take."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from openai_magics.facts.data import load
from openai_magics.core.errors import UsageError
from openai_magics.magics.images import NamedImage, as_png
from openai_magics.facts.models import base_name
from openai_magics.magics.parsing import either, model_rules

FORMATS = ("png", "jpeg", "webp")
MB = 1 << 20


@dataclass(frozen=True)
class ImageModel:
    """What one Images API model takes."""

    name: str
    sizes: tuple
    qualities: tuple
    n: tuple
    styles: tuple
    backgrounds: tuple
    formats: tuple
    compression: bool
    stream: bool
    partial_images: tuple
    edit_images: int
    mask: bool
    prompt_characters: int
    revised_prompt: bool
    usage: bool
    output_tokens: dict = field(default_factory=dict)
    partial_image_tokens: int = 0
    input_image_tokens_bound: int = 0
    edit_megabytes: int = 0


@lru_cache(maxsize=None)
def models() -> dict:
    return load("image_models.json")["models"]


def image_model(name: str) -> ImageModel:
    """The rules of `name` (a dated snapshot reads as its base; a newer GPT image model as gpt-image-1)."""
    table = models()
    facts = table.get(name) or table.get(base_name(name))
    if facts is None and name.startswith(("gpt-image", "chatgpt-image")):
        facts = table["gpt-image-1"]
    return model_rules(ImageModel, name, facts, table, "image")


@dataclass
class ImageRequest:
    prompt: str
    model: str
    size: str | None = None
    quality: str | None = None
    n: int = 1
    style: str | None = None
    background: str | None = None
    format: str | None = None
    compression: int | None = None
    edits: list = field(default_factory=list)   # NamedImages
    mask: NamedImage | None = None
    partial_images: int = 0                       # asked for when a live view shows them
    cache: bool = True
    dry_run: bool = False
    rules: ImageModel = field(init=False, repr=False)

    def __post_init__(self):
        if not self.prompt or not self.prompt.strip():
            raise UsageError("Nothing to draw: the prompt is empty.")
        self.rules = r = image_model(self.model)
        name = self.model
        if len(self.prompt) > r.prompt_characters:
            raise UsageError(f"The prompt is {len(self.prompt):,} characters; {name} takes at most "
                             f"{r.prompt_characters:,}.")
        self._one_of("--size", self.size, r.sizes)
        self._one_of("--quality", self.quality, r.qualities + ("auto",) * r.usage)
        if not isinstance(self.n, int) or not r.n[0] <= self.n <= r.n[1]:
            makes = f"exactly {r.n[0]} image per request (-n 1)" if r.n[0] == r.n[1] else f"{r.n[0]} to {r.n[1]}"
            raise UsageError(f"-n {self.n}: {name} makes {makes}.")
        self._one_of("--style", self.style, r.styles)
        self._one_of("--background", self.background, r.backgrounds)
        self._one_of("--format", self.format, r.formats)
        if self.compression is not None:
            if not r.compression or (self.format or "png") == "png":
                raise UsageError(f"--compression {self.compression}: only GPT image models take it, with "
                                 "--format jpeg or webp.")
            if not 0 <= self.compression <= 100:
                raise UsageError(f"--compression {self.compression}: give 0 to 100 (percent).")
        if self.background == "transparent" and self.format == "jpeg":
            raise UsageError("--background transparent needs --format png or webp (JPEG has no transparency).")
        self._check_edits()
        self.partial_images = min(self.partial_images, r.partial_images[1]) if self.streams_possible else 0

    def _one_of(self, option: str, value, allowed: tuple) -> None:
        if value is None:
            return
        if not allowed:
            takers = [m for m, facts in models().items() if facts[_FACT[option]]]
            raise UsageError(f"{option} {value}: {self.model} takes no {option} ({either(takers)} do).")
        if value not in allowed:
            raise UsageError(f"{option} {value}: {self.model} takes {either(allowed)}.")

    def _check_edits(self) -> None:
        r = self.rules
        if self.mask is not None and not self.edits:
            raise UsageError("--mask needs an image to edit: add --edit SRC.")
        if not self.edits:
            return
        if not r.edit_images:
            editors = [m for m, facts in models().items() if facts["edit_images"]]
            raise UsageError(f"--edit: {self.model} does not edit images ({either(editors)} do).")
        if len(self.edits) > r.edit_images:
            raise UsageError(f"--edit was given {len(self.edits)} times: {self.model} edits at most "
                             f"{r.edit_images} image{'s' * (r.edit_images != 1)} per request.")
        if not r.usage:  # DALL·E 2 edits a square PNG
            self.edits = [NamedImage(e.label, as_png(e.image)) for e in self.edits]
        for option, given in [*(("--edit", e) for e in self.edits), *((("--mask", self.mask),) if self.mask else ())]:
            if len(given.image.data) > r.edit_megabytes * MB:
                raise UsageError(f"{option} {given.label}: {len(given.image.data) / MB:,.1f} MB to upload; {self.model} "
                                 f"takes images of at most {r.edit_megabytes} MB. Make it smaller first "
                                 "(fewer pixels, or JPEG/WEBP where the model takes them); nothing was sent.")
        first = self.edits[0].image
        if not r.usage and first.width != first.height:
            raise UsageError(f"--edit {self.edits[0].label}: {self.model} edits a square image; this one is "
                             f"{first.width}×{first.height}.")
        if self.mask is not None:
            mask = self.mask.image
            if mask.size != first.size:
                raise UsageError(f"--mask {self.mask.label} is {mask.width}×{mask.height}; the image to edit "
                                 f"({self.edits[0].label}) is {first.width}×{first.height}: they must be the same size.")
            if not has_alpha(mask.data):
                raise UsageError(f"--mask {self.mask.label}: a mask marks with transparency (alpha 0) where "
                                 "to edit; this image has no alpha channel.")

    # -- what is sent --
    @property
    def editing(self) -> bool:
        return bool(self.edits)

    @property
    def api(self) -> str:
        return "images.edits" if self.editing else "images.generations"

    @property
    def streams_possible(self) -> bool:
        return self.rules.stream and self.n == 1

    @property
    def streams(self) -> bool:
        return self.streams_possible and self.partial_images > 0

    def params(self) -> dict:
        """The request's fields, files aside (the body of a generation, the form fields of an edit)."""
        fields = {"model": self.model, "prompt": self.prompt, "n": self.n, "size": self.size,
                  "quality": self.quality, "style": self.style, "background": self.background,
                  "output_format": self.format, "output_compression": self.compression}
        if not self.rules.usage:  # DALL·E answers with a URL unless asked for the image itself
            fields["response_format"] = "b64_json"
        if self.streams:
            fields.update(stream=True, partial_images=self.partial_images)
        return {k: v for k, v in fields.items() if v is not None}

    def key_params(self) -> dict:
        """What identifies the answer: the fields (without streaming) and the edit inputs by content hash."""
        key = {k: v for k, v in self.params().items() if k not in ("stream", "partial_images")}
        if self.edits:
            key["image"] = [e.digest for e in self.edits]
        if self.mask is not None:
            key["mask"] = self.mask.digest
        return key

    @property
    def priced_size(self) -> str:
        """The size as billed: `auto` (or none given) is bounded by the dearest."""
        return "" if self.size in (None, "auto") else self.size

    @property
    def priced_quality(self) -> str:
        if self.quality in (None, "auto"):
            return "standard" if not self.rules.usage else ""
        return self.quality

    def describe(self) -> str:
        """`3 × 1024x1024 high on gpt-image-1`: what the request asks for, in one phrase."""
        kind = " ".join(v for v in (self.size or "auto-size", self.quality) if v)
        return f"{self.n} × {kind} image{'s' * (self.n != 1)} on {self.model}"


_FACT = {"--size": "sizes", "--quality": "qualities", "--style": "styles", "--background": "backgrounds",
         "--format": "formats"}


def has_alpha(data: bytes) -> bool:
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(data))
    return "A" in image.getbands() or "transparency" in image.info
