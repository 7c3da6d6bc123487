"""`/audio/speech`, `/audio/transcriptions`, `/audio/translations`: real audio out, transcripts in.

Speech is one tone burst per word (pitch from the word, length from its letters), short gaps between words
and longer ones between sentences, in the format asked for (soundfile writes wav, flac, ogg/opus and mp3).
The server remembers the rhythm of what it spoke, so transcribing its own speech gives the words back; any
other audio is transcribed as one made-up word per burst of sound, with the bursts' real times, so a long
file cut into pieces and stitched back can be checked against where its sounds really are.
"""
from __future__ import annotations

import hashlib
import io
import math
import re
import threading

from openai_magics.offline.errors import RequestError
from openai_magics.offline.tokens import count
from openai_magics.offline.router import Route
from openai_magics.offline.wire import Binary

RATE = 24_000                     # what OpenAI's pcm format is: 24 kHz, 16-bit, mono
UPLOAD_LIMIT = 25 * 1024 * 1024   # the API's limit on an audio file
FORMATS = {"wav": ("WAV", "PCM_16", "audio/wav"), "flac": ("FLAC", "PCM_16", "audio/flac"),
           "opus": ("OGG", "OPUS", "audio/ogg"), "mp3": ("MP3", "MPEG_LAYER_III", "audio/mpeg")}
TOKEN_MODELS = ("gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-transcribe")
AUDIO_TOKENS_PER_MINUTE = 1_000
STEP = 0.01                       # seconds per analysis frame
VOCABULARY = ("river", "stone", "maple", "cloud", "amber", "harbor", "lantern", "meadow", "echo", "violet")


class Spoken:
    """What the server said, by the rhythm of its bursts: so that it can transcribe its own speech."""

    def __init__(self) -> None:
        self._said: dict[tuple, list[str]] = {}
        self._lock = threading.Lock()

    def remember(self, bursts: list[tuple[float, float]], words: list[str]) -> None:
        with self._lock:
            self._said[_rhythm(bursts)] = words

    def recall(self, bursts: list[tuple[float, float]]) -> list[str] | None:
        with self._lock:
            return self._said.get(_rhythm(bursts))


def _rhythm(bursts) -> tuple:
    return tuple(round((end - start) / 0.05) for start, end in bursts)


# --- speech -------------------------------------------------------------------------------------

def speech(state, request) -> Binary:
    body = request.body
    text, fmt = body["input"], body.get("response_format", "mp3")
    speed = float(body.get("speed", 1.0))
    if not 0.25 <= speed <= 4.0:
        raise RequestError(f"Invalid 'speed': {speed}. It must be between 0.25 and 4.0.", param="speed")
    if len(text) > 4096:
        raise RequestError("'input' is longer than 4096 characters.", param="input")
    if fmt not in FORMATS and fmt != "pcm":
        raise RequestError(f"The offline server makes mp3, opus, flac, wav and pcm audio, not {fmt}.",
                           param="response_format")
    words = re.findall(r"\S+", text)
    samples, bursts = synthesize(words, speed, body.get("voice", "alloy"))
    state.part(Spoken).remember(bursts, words)
    if fmt == "pcm":
        return Binary(_pcm16(samples), "audio/pcm")
    container, subtype, media = FORMATS[fmt]
    return Binary(encode(samples, container, subtype), media)


def synthesize(words: list[str], speed: float, voice: str):
    """Samples (float32) and the (start, end) seconds of each word's burst."""
    import numpy as np

    pieces, bursts, t = [np.zeros(int(0.2 * RATE), np.float32)], [], 0.2
    base = 110 + int(hashlib.sha256(voice.encode()).hexdigest(), 16) % 120
    for word in words:
        length = (0.12 + 0.05 * len(word)) / speed
        n = int(length * RATE)
        pitch = base + int(hashlib.sha256(word.lower().encode()).hexdigest(), 16) % 200
        envelope = np.sin(np.linspace(0, math.pi, n, dtype=np.float32))
        pieces.append((0.4 * envelope * np.sin(2 * math.pi * pitch * np.arange(n) / RATE)).astype(np.float32))
        bursts.append((t, t + length))
        gap = (0.45 if word.endswith((".", "!", "?")) else 0.12) / speed
        pieces.append(np.zeros(int(gap * RATE), np.float32))
        t += length + gap
    return np.concatenate(pieces), bursts


def encode(samples, container: str, subtype: str) -> bytes:
    import soundfile

    out = io.BytesIO()
    soundfile.write(out, samples, RATE, format=container, subtype=subtype)
    return out.getvalue()


def _pcm16(samples) -> bytes:
    import numpy as np

    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


# --- transcription ------------------------------------------------------------------------------

def transcriptions(state, request):
    return _transcribe(state, request, translate=False)


def translations(state, request):
    return _transcribe(state, request, translate=True)


def _transcribe(state, request, translate: bool):
    upload = request.upload("file")
    body = request.body
    model, fmt = body["model"], body.get("response_format", "json")
    if len(upload.data) > UPLOAD_LIMIT:
        raise RequestError(f"Maximum content size limit ({UPLOAD_LIMIT}) exceeded ({len(upload.data)} bytes read)",
                           code="file_too_large", param="file")
    if model.startswith(TOKEN_MODELS) and fmt not in ("json", "text"):
        raise RequestError(f"response_format '{fmt}' is not compatible with model '{model}'. "
                           "Use 'json' or 'text'.", param="response_format")
    samples, duration = _decode(upload)
    segments = _segments(state, samples)
    text = " ".join(s["text"] for s in segments)
    usage = _usage(model, duration, text, body.get("prompt", ""))
    if body.get("stream") in (True, "true") and model.startswith(TOKEN_MODELS):
        return _events(text, usage)
    if fmt == "text":
        return Binary((text + "\n").encode(), "text/plain; charset=utf-8")
    if fmt in ("srt", "vtt"):
        return Binary(_subtitles(segments, fmt).encode(), "text/plain; charset=utf-8")
    answer = {"text": text, "usage": usage}
    if fmt == "verbose_json":
        granularity = _granularities(body)
        answer = {"task": "translate" if translate else "transcribe", "language": "english" if translate else
                  body.get("language") or "english", "duration": round(duration, 3), "text": text,
                  "segments": segments if "segment" in granularity or not granularity else None,
                  "usage": usage}
        if "word" in granularity:
            answer["words"] = [w for s in segments for w in s.pop("_words")]
        for s in segments:
            s.pop("_words", None)
        answer = {k: v for k, v in answer.items() if v is not None}
    return answer


def _granularities(body: dict) -> list[str]:
    value = body.get("timestamp_granularities") or []
    return [value] if isinstance(value, str) else list(value)


def _decode(upload):
    import numpy as np
    import soundfile

    try:
        samples, rate = soundfile.read(io.BytesIO(upload.data), dtype="float32", always_2d=True)
    except Exception:  # not audio soundfile can read: what the API says of a bad file
        raise RequestError("Audio file might be corrupted or unsupported", code="invalid_value", param="file") from None
    mono = samples.mean(axis=1)
    if rate != RATE:  # analysis only needs the envelope: resample by picking
        mono = mono[np.linspace(0, len(mono) - 1, int(len(mono) * RATE / rate)).astype(np.int64)] if len(mono) else mono
    return mono, len(samples) / rate


def bursts_of(samples) -> list[tuple[float, float]]:
    """(start, end) seconds of each stretch of sound, found by frame energy."""
    import numpy as np

    frame = int(STEP * RATE)
    n = len(samples) // frame
    if n == 0:
        return []
    energy = np.sqrt((samples[: n * frame].reshape(n, frame) ** 2).mean(axis=1))
    loud = energy > 0.02
    edges = np.flatnonzero(np.diff(np.concatenate([[0], loud.astype(np.int8), [0]])))
    return [(round(a * STEP, 2), round(b * STEP, 2)) for a, b in zip(edges[::2], edges[1::2]) if b - a >= 3]


def _segments(state, samples) -> list[dict]:
    """Sentences: runs of bursts separated by pauses of 0.3 s or more."""
    bursts = bursts_of(samples)
    words = state.part(Spoken).recall(bursts) or [VOCABULARY[i % len(VOCABULARY)] for i in range(len(bursts))]
    segments, current = [], []
    for i, (burst, word) in enumerate(zip(bursts, words)):
        current.append({"word": word, "start": burst[0], "end": burst[1]})
        last = i == len(bursts) - 1
        if last or bursts[i + 1][0] - burst[1] >= 0.3:
            segments.append(_segment(len(segments), current))
            current = []
    return segments


def _segment(index: int, words: list[dict]) -> dict:
    text = " ".join(w["word"] for w in words)
    return {"id": index, "seek": 0, "start": words[0]["start"], "end": words[-1]["end"], "text": text,
            "tokens": list(range(len(words))), "temperature": 0.0, "avg_logprob": -0.1,
            "compression_ratio": 1.0, "no_speech_prob": 0.0, "_words": words}


def _usage(model: str, duration: float, text: str, prompt: str) -> dict:
    if not model.startswith(TOKEN_MODELS):
        return {"type": "duration", "seconds": math.ceil(duration)}
    audio = math.ceil(duration * AUDIO_TOKENS_PER_MINUTE / 60)
    text_in, out = count(prompt, model) if prompt else 0, count(text, model)
    return {"type": "tokens", "input_tokens": audio + text_in, "output_tokens": out,
            "total_tokens": audio + text_in + out,
            "input_token_details": {"audio_tokens": audio, "text_tokens": text_in}}


def _events(text: str, usage: dict):
    for piece in re.findall(r"\S+\s*", text):
        yield {"type": "transcript.text.delta", "delta": piece}
    yield {"type": "transcript.text.done", "text": text, "usage": usage}


def _subtitles(segments: list[dict], fmt: str) -> str:
    def stamp(seconds: float) -> str:
        ms = round(seconds * 1000)
        h, rest = divmod(ms, 3_600_000)
        m, rest = divmod(rest, 60_000)
        s, ms = divmod(rest, 1000)
        return f"{h:02}:{m:02}:{s:02}{',' if fmt == 'srt' else '.'}{ms:03}"

    blocks = [f"{s['id'] + 1}\n{stamp(s['start'])} --> {stamp(s['end'])}\n{s['text']}\n" if fmt == "srt" else
              f"{stamp(s['start'])} --> {stamp(s['end'])}\n{s['text']}\n" for s in segments]
    return ("WEBVTT\n\n" if fmt == "vtt" else "") + "\n".join(blocks)


ROUTES = [
    Route("POST", "/audio/speech", speech),
    Route("POST", "/audio/transcriptions", transcriptions),
    Route("POST", "/audio/translations", translations),
]
