"""ImageResult: the images of one %%image cell (PIL images and raw bytes), saving them, and how they show."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from openai_magics.metering.ledger import UsageRecord
from openai_magics.metering.pricing import format_usd
from openai_magics.views.markup import shorten
from openai_magics.views.result_parts import Metered, slug

EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}


@dataclass
class GeneratedImage:
    data: bytes                       # the image file as the API sent it
    format: str                       # PNG, JPEG, WEBP
    width: int
    height: int
    revised_prompt: str | None = None  # what DALL·E 3 actually drew from

    @property
    def pil(self):
        import io

        from PIL import Image

        return Image.open(io.BytesIO(self.data))

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def media_type(self) -> str:
        return f"image/{EXTENSIONS.get(self.format, 'png').replace('jpg', 'jpeg')}"

    def _repr_png_(self):
        return self.data if self.format == "PNG" else None

    def _repr_jpeg_(self):
        return self.data if self.format == "JPEG" else None




@dataclass
class ImageResult(Metered):
    images: list[GeneratedImage]
    request: object = field(repr=False, default=None)  # the ImageRequest
    record: UsageRecord | None = None
    cache_hit: bool = False
    saved_to: list[Path] = field(default_factory=list)
    asked: int = 0                    # images asked for (-n): a server may send fewer

    # -- the images --
    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index]

    def __iter__(self):
        return iter(self.images)

    @property
    def pil(self) -> list:
        """The images as PIL images."""
        return [image.pil for image in self.images]

    @property
    def bytes(self) -> list[bytes]:
        return [image.data for image in self.images]

    @property
    def prompt(self) -> str:
        return self.request.prompt if self.request is not None else ""

    @property
    def model(self) -> str:
        return self.record.model if self.record else self.request.model

    def save(self, folder=".") -> list[Path]:
        """Write every image to `folder` as `prompt-slug-1.png`, `-2`…; the paths written."""
        folder = Path(folder).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        name = slug(self.prompt, "image")
        paths = []
        for index, image in enumerate(self.images, 1):
            path = folder / f"{name}-{index}.{EXTENSIONS.get(image.format, 'png')}"
            path.write_bytes(image.data)
            paths.append(path)
        self.saved_to = paths
        return paths

    # -- money --
    @property
    def cost_per_image(self) -> str:
        if self.record is None:
            return ""
        if self.cache_hit:
            return "$0 (cached)"
        if self.record.cost is None:
            return format_usd(None)
        return format_usd(self.record.cost / len(self.images), approx=self.record.estimated) + " each"

    # -- display --
    def captions(self) -> list[str]:
        request = self.request
        quality = (self.record.usage.image_quality if self.record else "") or (request.quality or "")
        captions = []
        for image in self.images:
            parts = [image.size, quality, self.cost_per_image]
            captions.append(" · ".join(p for p in parts if p))
        return captions

    @property
    def summary(self) -> str:
        n = len(self.images)
        fewer = f" ({self.asked} asked: the server sent {n})" if self.asked > n else ""
        return f"{n} image{'s' * (n != 1)}{fewer} · {self.model} · “{shorten(self.prompt, 80)}”"

    def _repr_html_(self) -> str:
        from openai_magics.image.gallery import gallery_html

        return gallery_html(self)

    def _repr_pretty_(self, p, cycle) -> None:
        lines = [self.summary]
        for index, (image, caption) in enumerate(zip(self.images, self.captions()), 1):
            lines.append(f"  {index}. {caption}")
            if image.revised_prompt:
                lines.append(f"     revised prompt: {image.revised_prompt}")
        lines += [f"  saved: {path}" for path in self.saved_to]
        p.text("\n".join(lines + [self.usage_line]))

    def __repr__(self) -> str:
        return f"<ImageResult {self.summary} · {self.usage_line}>"



@dataclass
class ImageDryRun:
    """`--dry-run`: what would be sent and its worst-case cost; nothing is sent."""

    request: object
    worst_case: Decimal | None

    @property
    def endpoint(self) -> str:
        return "/images/edits" if self.request.editing else "/images/generations"

    def shown_fields(self) -> dict:
        fields = dict(self.request.params())
        if self.request.editing:
            fields["image"] = [f"{e.label} ({e.image.width}×{e.image.height} {e.image.format}, "
                               f"{len(e.image.data):,} bytes)" for e in self.request.edits]
        if self.request.mask is not None:
            m = self.request.mask
            fields["mask"] = f"{m.label} ({m.image.width}×{m.image.height} {m.image.format})"
        return fields

    @property
    def summary(self) -> str:
        return f"{self.request.describe()} · worst case {format_usd(self.worst_case)} · nothing sent"

    def _repr_pretty_(self, p, cycle) -> None:
        import json

        p.text(f"Dry run · POST {self.endpoint}\n{json.dumps(self.shown_fields(), indent=2, ensure_ascii=False)}"
               f"\n\n{self.summary}")

    def _repr_html_(self) -> str:
        import json

        from openai_magics.views.markup import escape_markup, usage_sub

        body = escape_markup(json.dumps(self.shown_fields(), indent=2, ensure_ascii=False))
        return (f"<p><b>Dry run</b> · POST <code>{self.endpoint}</code></p><pre>{body}</pre>"
                f"{usage_sub(self.summary)}")
