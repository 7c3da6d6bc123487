"""VideoResult: the MP4 of one %%video cell, its job, saving it, and how it shows."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openai_magics.metering.ledger import UsageRecord
from openai_magics.views.markup import shorten
from openai_magics.views.result_parts import Metered, forwarded, slug


@dataclass
class VideoResult(Metered):
    data: bytes                  # the MP4 as the server sent it
    job: object                  # the engine's VideoJob: id, model, seconds, size, status
    prompt: str = ""
    record: UsageRecord | None = None
    cache_hit: bool = False
    saved_to: Path | None = None

    @property
    def bytes(self) -> bytes:
        return self.data

    id = forwarded("job", "id")
    model = forwarded("job", "model")
    seconds = forwarded("job", "seconds")
    size = forwarded("job", "size")

    def save(self, path=None) -> Path:
        """Write the MP4 to `path` (a file, or a folder to put `prompt-slug.mp4` in; the current folder when
        none is given); the path written."""
        target = Path(path).expanduser() if path is not None else Path(".")
        if target.is_dir() or path is None or str(path).endswith(("/", "\\")):
            target = target / f"{slug(self.prompt, 'video')}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.data)
        self.saved_to = target
        return target

    @property
    def summary(self) -> str:
        remix = f" · remix of {self.job.remixed_from}" if self.job.remixed_from else ""
        return f"{self.seconds} s {self.size} video · {self.model} · {self.id}{remix} · “{shorten(self.prompt, 80)}”"

    def _repr_html_(self) -> str:
        from openai_magics.video.player import player_html

        return player_html(self)

    def _repr_pretty_(self, p, cycle) -> None:
        lines = [self.summary, f"  {len(self.data):,} bytes of MP4"]
        if self.saved_to is not None:
            lines.append(f"  saved: {self.saved_to}")
        p.text("\n".join(lines + [self.usage_line]))

    def __repr__(self) -> str:
        return f"<VideoResult {self.summary} · {self.usage_line}>"
