"""Audio from whatever a notebook holds: a path, a URL, bytes, a Path, or a numpy array with its rate."""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

from openai_magics.core.errors import UsageError

KINDS = "a path, a URL, bytes, a Path, or a numpy array (with --rate)"
MEDIA = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".opus": "audio/ogg", ".mp3": "audio/mpeg",
         ".m4a": "audio/mp4", ".mp4": "audio/mp4", ".webm": "audio/webm", ".mpeg": "audio/mpeg", ".mpga": "audio/mpeg",
         ".aac": "audio/aac", ".pcm": "audio/pcm"}


@dataclass(frozen=True)
class Audio:
    data: bytes
    filename: str        # with the extension the API reads the format from
    label: str           # what the user named

    @property
    def suffix(self) -> str:
        return Path(self.filename).suffix.lower()

    @property
    def media_type(self) -> str:
        return MEDIA.get(self.suffix, "application/octet-stream")

    def duration(self) -> float | None:
        """Seconds, when soundfile can read the format (None otherwise)."""
        import soundfile

        try:
            return soundfile.info(io.BytesIO(self.data)).duration
        except Exception:  # a format libsndfile does not read (m4a, webm…)
            return None


def load(source, label: str, rate: int | None = None) -> Audio:
    """One source → Audio; bad input (an empty file or download, audio of no length) is one clear UsageError,
    nothing sent."""
    audio = _read(source, label, rate)
    if not audio.data:
        raise UsageError(f"{label}: the audio is empty (0 bytes); nothing was sent.")
    if audio.duration() == 0:
        raise UsageError(f"{label}: the audio holds no sound (0 s); nothing was sent.")
    return audio


def _read(source, label: str, rate: int | None) -> Audio:
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        return _download(source, label)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise UsageError(f"{label}: no such file, URL or variable.")
        return Audio(path.read_bytes(), path.name, label)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return Audio(data, f"audio{_sniff(data)}", label)
    if type(source).__module__.split(".")[0] == "numpy":
        return _from_array(source, label, rate)
    raise UsageError(f"{label}: a {type(source).__name__} is not audio; give {KINDS}.")


def _sniff(data: bytes) -> str:
    """The file extension of common audio bytes (the API reads the format from the name)."""
    heads = [(b"RIFF", ".wav"), (b"fLaC", ".flac"), (b"OggS", ".ogg"), (b"ID3", ".mp3"), (b"\xff\xfb", ".mp3"),
             (b"\xff\xf3", ".mp3"), (b"\xff\xf2", ".mp3")]
    if data[4:8] == b"ftyp":
        return ".m4a"
    return next((ext for head, ext in heads if data.startswith(head)), ".wav")


def _from_array(array, label: str, rate: int | None) -> Audio:
    import numpy as np
    import soundfile

    if rate is None:
        raise UsageError(f"{label}: a numpy array needs its sample rate: add --rate 16000 (or whatever it is).")
    samples = np.asarray(array)
    if samples.ndim not in (1, 2) or samples.size == 0:
        raise UsageError(f"{label}: an array of shape {samples.shape} is not audio (samples, or samples × channels).")
    if samples.dtype.kind not in "fi":
        raise UsageError(f"{label}: an array of {samples.dtype} is not audio samples.")
    if samples.dtype.kind == "f":
        samples = np.clip(samples, -1, 1).astype(np.float32)
    out = io.BytesIO()
    soundfile.write(out, samples, int(rate), format="WAV", subtype="PCM_16")
    return Audio(out.getvalue(), "audio.wav", label)


def _download(url: str, label: str) -> Audio:
    from openai_magics.wire.http import download

    content, path = download(url, label)
    name = Path(path).name or "audio"
    return Audio(content, name if Path(name).suffix else name + _sniff(content), label)
