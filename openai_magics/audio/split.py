"""Files over the upload limit, cut into pieces at the quietest moments and sent as 16-bit mono WAV.

Every format soundfile reads (wav, flac, ogg/opus, mp3) is cut here; anything else goes through ffmpeg
when it is installed, and is otherwise refused with the limit and how to convert it.
"""
from __future__ import annotations

import io
import shutil
import subprocess

from openai_magics.audio.sources import Audio
from openai_magics.core.errors import UsageError

SEARCH = 0.1       # how far back from a piece's largest end a quiet cut is looked for (share of the piece)
WINDOW = 0.05      # seconds over which loudness is measured


def pieces(audio: Audio, limit: int) -> list[tuple[Audio, float]]:
    """The audio as (piece, start in seconds) pairs, each piece under `limit` bytes."""
    if len(audio.data) <= limit:
        return [(audio, 0.0)]
    samples, rate = _samples(audio, limit)
    per_piece = (int(limit * 0.95) - 44) // 2  # 16-bit mono WAV: 2 bytes a sample, 44 of header
    cuts, start = [], 0
    while len(samples) - start > per_piece:
        cut = _quietest(samples, rate, start + per_piece - int(per_piece * SEARCH), start + per_piece)
        cuts.append((start, cut))
        start = cut
    cuts.append((start, len(samples)))
    stem = audio.filename.rsplit(".", 1)[0]
    return [(Audio(_wav(samples[a:b], rate), f"{stem}-part{i + 1}.wav", audio.label), a / rate)
            for i, (a, b) in enumerate(cuts)]


def _samples(audio: Audio, limit: int):
    import soundfile

    try:
        samples, rate = soundfile.read(io.BytesIO(audio.data), dtype="float32", always_2d=True)
    except Exception:  # not a format libsndfile reads: m4a, webm, aac…
        samples, rate = _through_ffmpeg(audio, limit)
    return samples.mean(axis=1), rate


def _through_ffmpeg(audio: Audio, limit: int):
    import soundfile

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise UsageError(
            f"{audio.label} is {len(audio.data) / 2**20:,.1f} MB, over the API's {limit / 2**20:,.0f} MB limit, and "
            f"its format ({audio.suffix or 'unknown'}) can only be cut with ffmpeg, which is not installed. "
            "Install ffmpeg, or convert it first: `ffmpeg -i IN -ac 1 -ar 16000 OUT.flac`.")
    run = subprocess.run([ffmpeg, "-v", "error", "-i", "pipe:0", "-ac", "1", "-ar", "16000", "-f", "wav", "pipe:1"],
                         input=audio.data, capture_output=True, timeout=600)
    if run.returncode != 0:
        raise UsageError(f"{audio.label}: ffmpeg could not read it ({run.stderr.decode(errors='replace')[:200]}).")
    return soundfile.read(io.BytesIO(run.stdout), dtype="float32", always_2d=True)


def _quietest(samples, rate: int, low: int, high: int) -> int:
    """The sample index between low and high at the middle of the quietest window."""
    import numpy as np

    window = max(1, int(WINDOW * rate))
    span = samples[low:high]
    n = len(span) // window
    if n == 0:
        return high
    energy = (span[: n * window].reshape(n, window) ** 2).mean(axis=1)
    return low + int(np.argmin(energy)) * window + window // 2


def _wav(samples, rate: int) -> bytes:
    import soundfile

    out = io.BytesIO()
    soundfile.write(out, samples, rate, format="WAV", subtype="PCM_16")
    return out.getvalue()
