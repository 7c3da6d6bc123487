"""What `%%transcribe` and `%%speak` return: the transcript (segments, subtitles) or the speech, each with
an audio player that a saved notebook keeps, and the usage line."""
from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from openai_magics.core.errors import UsageError
from openai_magics.metering.ledger import UsageRecord
from openai_magics.metering.usage import Usage
from openai_magics.views.markup import LEFT, NO_MATHS, usage_sub
from openai_magics.views.usage_line import usage_line

EMBED_LIMIT = 8 * 2**20  # a player embeds audio up to this size in the notebook


def _total(records: list[UsageRecord], model: str, magic: str) -> UsageRecord:
    """One record for the usage line: every request of the cell added up."""
    if len(records) == 1:
        return records[0]
    usage = sum((r.usage for r in records), Usage())
    costs = [r.cost for r in records]
    cost = None if any(c is None for c in costs) else sum(costs, Decimal(0))
    return UsageRecord(magic=magic, model=records[0].model if records else model, usage=usage, cost=cost,
                       latency=max((r.latency for r in records), default=0.0),
                       cache_hit=all(r.cache_hit for r in records), estimated=any(r.estimated for r in records))


def player(data: bytes, media_type: str) -> str:
    if len(data) > EMBED_LIMIT:
        return f"<p><i>audio not embedded ({len(data) / 2**20:,.1f} MB)</i></p>"
    source = base64.b64encode(data).decode("ascii")
    # The data is inline, so reading its metadata costs nothing: the player shows the duration before it plays.
    return f'<audio controls preload="metadata" src="data:{media_type};base64,{source}"></audio>'


def _stamp(seconds: float, comma: bool) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02}:{m:02}:{s:02}{',' if comma else '.'}{ms:03}"


@dataclass(repr=False)
class Transcript:
    text: str
    model: str
    segments_list: list[dict] = field(default_factory=list)  # {"start", "end", "text"}, times in the whole file
    words: list[dict] = field(default_factory=list)
    format: str | None = None
    records: list[UsageRecord] = field(default_factory=list)
    sources: list = field(default_factory=list)               # audio.sources.Audio
    pieces: int = 1

    @classmethod
    def stitch(cls, request, answers: list) -> "Transcript":
        """Pieces in order, their times moved by where each piece starts in its file."""
        texts, segments, words, records = [], [], [], []
        for source, offset, answer, record in answers:
            texts.append((answer.get("text") or "").strip())
            records.append(record)
            for s in answer.get("segments") or []:
                segments.append({"source": source.label, "start": round(s["start"] + offset, 3),
                                 "end": round(s["end"] + offset, 3), "text": s["text"].strip()})
            for w in answer.get("words") or []:
                words.append({"source": source.label, "start": round(w["start"] + offset, 3),
                              "end": round(w["end"] + offset, 3), "word": w["word"]})
        sources = list(dict.fromkeys(source for source, *_ in answers))
        return cls(" ".join(t for t in texts if t), request.model, segments, words, request.format, records,
                   sources, len(answers))

    @property
    def record(self) -> UsageRecord:
        return _total(self.records, self.model, "transcribe")

    @property
    def segments(self):
        """The timed segments: a DataFrame (start, end, text) when pandas is present."""
        try:
            import pandas as pd
        except ImportError:
            return list(self.segments_list)
        return pd.DataFrame(self.segments_list, columns=["source", "start", "end", "text"])

    def _subtitles(self, comma: bool) -> list[str]:
        if not self.segments_list:
            raise UsageError(f"{self.model} gave no timestamps: subtitles need -m whisper-1.")
        return [f"{_stamp(s['start'], comma)} --> {_stamp(s['end'], comma)}\n{s['text']}\n" for s in self.segments_list]

    @property
    def srt(self) -> str:
        return "\n".join(f"{i}\n{block}" for i, block in enumerate(self._subtitles(True), 1))

    @property
    def vtt(self) -> str:
        return "WEBVTT\n\n" + "\n".join(self._subtitles(False))

    def save(self, path: str | Path) -> Path:
        """Write the transcript: .srt or .vtt as subtitles, anything else as text."""
        path = Path(path).expanduser()
        body = self.srt if path.suffix == ".srt" else self.vtt if path.suffix == ".vtt" else self.text + "\n"
        path.write_text(body, encoding="utf-8")
        return path

    def __str__(self) -> str:
        return self.srt if self.format == "srt" else self.vtt if self.format == "vtt" else self.text

    @property
    def usage_line(self) -> str:
        line = usage_line(self.record)
        return line + (f" · {self.pieces} pieces" if self.pieces > 1 else "")

    def _repr_pretty_(self, p, cycle) -> None:
        if self.format in ("srt", "vtt") or not self.segments_list:
            body = str(self)
        else:
            body = "\n".join(f"[{_stamp(s['start'], False)[3:]} → {_stamp(s['end'], False)[3:]}] {s['text']}"
                             for s in self.segments_list)
        p.text(f"{body}\n\n{self.usage_line}")

    def _repr_html_(self) -> str:
        players = "".join(player(s.data, s.media_type) for s in self.sources)
        if self.segments_list and self.format not in ("text", "json"):
            rows = "".join(f"<tr><td>{_stamp(s['start'], False)[3:]}</td><td>{_stamp(s['end'], False)[3:]}</td>"
                           f"<td{LEFT}>{html.escape(s['text'])}</td></tr>" for s in self.segments_list)
            body = (f'<table class="oaim-transcript {NO_MATHS}"><thead><tr><th>start</th><th>end</th>'
                    f"<th{LEFT}>text</th></tr></thead><tbody>{rows}</tbody></table>")
        else:
            body = f'<p class="{NO_MATHS}">{html.escape(self.text)}</p>'
        return f"{players}{body}{usage_sub(self.usage_line)}"

    def __repr__(self) -> str:
        return f"<Transcript {len(self.text):,} characters · {self.usage_line}>"


@dataclass(repr=False)
class Speech:
    audio: bytes
    format: str
    model: str
    voice: str
    records: list[UsageRecord] = field(default_factory=list)

    @classmethod
    def join(cls, request, spoken: list) -> "Speech":
        return cls(_join([data for data, _ in spoken], request.format), request.format, request.model,
                   request.voice, [record for _, record in spoken])

    @property
    def record(self) -> UsageRecord:
        return _total(self.records, self.model, "speak")

    @property
    def duration(self) -> float | None:
        """Seconds of speech (pcm: 24 kHz 16-bit mono, as the API sends it)."""
        if self.format == "pcm":
            return len(self.audio) / 48_000
        import soundfile

        try:
            return soundfile.info(io.BytesIO(self.audio)).duration
        except Exception:  # aac, which libsndfile does not read
            return None

    @property
    def media_type(self) -> str:
        return {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac",
                "wav": "audio/wav", "pcm": "audio/pcm"}[self.format]

    def save(self, path: str | Path) -> Path:
        path = Path(path).expanduser()
        if path.is_dir():
            path = path / f"speech.{self.format}"
        path.write_bytes(self.audio)
        return path

    def __bytes__(self) -> bytes:
        return self.audio

    @property
    def summary(self) -> str:
        seconds = self.duration
        length = f"{seconds:,.1f} s" if seconds is not None else "length unknown"
        return f"Speech: {length} · {self.voice} · {self.format} · {len(self.audio):,} bytes"

    @property
    def usage_line(self) -> str:
        return usage_line(self.record)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(f"{self.summary}\n{self.usage_line}")

    def _repr_html_(self) -> str:
        playable = "" if self.format == "pcm" else player(self.audio, self.media_type)
        return f'{playable}<p class="{NO_MATHS}">{html.escape(self.summary)}</p>{usage_sub(self.usage_line)}'

    def __repr__(self) -> str:
        return f"<{self.summary} · {self.usage_line}>"


def _join(parts: list[bytes], fmt: str) -> bytes:
    """One file from several: raw concatenation where the format allows it, else decoded and re-encoded."""
    if len(parts) == 1 or fmt in ("pcm", "mp3", "aac"):
        return b"".join(parts)
    import numpy as np
    import soundfile

    decoded = [soundfile.read(io.BytesIO(p), dtype="float32") for p in parts]
    out = io.BytesIO()
    container = {"wav": "WAV", "flac": "FLAC", "opus": "OGG"}[fmt]
    soundfile.write(out, np.concatenate([d for d, _ in decoded]), decoded[0][1], format=container,
                    subtype="OPUS" if fmt == "opus" else None)
    return out.getvalue()
