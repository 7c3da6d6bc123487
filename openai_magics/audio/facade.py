"""`openai_magics.transcribe(...)` and `openai_magics.speak(...)`: what the magics do, from plain Python."""
from __future__ import annotations

from openai_magics.core.session import session as current_session
from openai_magics.magics.kit import after_warm_up


@after_warm_up
def transcribe(sources, *, model: str | None = None, language: str | None = None, prompt: str | None = None,
               format: str | None = None, timestamps=(), translate: bool = False, rate: int | None = None,
               cache: bool = True, on_text=None, session=None):
    """Transcribe one source or several: paths, URLs, bytes, Paths, numpy arrays (with `rate`), or
    (value, label) pairs. Returns a Transcript (`.text`, `.segments`, `.srt`, `.vtt`, `.save()`)."""
    from openai_magics.audio.engine import run_transcribe
    from openai_magics.audio.request import TranscribeRequest
    from openai_magics.audio.sources import load

    s = session or current_session()
    given = sources if isinstance(sources, list) else [sources]
    pairs = [item if isinstance(item, tuple) else (item, _label(item, i)) for i, item in enumerate(given)]
    audio = [load(value, label, rate) for value, label in pairs]
    request = TranscribeRequest(audio, s.model_for("transcribe", model), language, prompt, format,
                                list(timestamps), translate, cache)
    return run_transcribe(s, request, on_text)


@after_warm_up
def speak(text: str, *, model: str | None = None, voice: str = "alloy", format: str = "mp3",
          speed: float | None = None, instructions: str | None = None, cache: bool = True, session=None):
    """Text to speech: a Speech (`bytes(speech)`, `.duration`, `.save(path)`, a player in notebooks)."""
    from openai_magics.audio.engine import run_speak
    from openai_magics.audio.request import SpeakRequest

    s = session or current_session()
    request = SpeakRequest(text, s.model_for("speech", model), voice, format, speed, instructions, cache)
    return run_speak(s, request)


def _label(value, index: int) -> str:
    return str(value) if isinstance(value, str) or hasattr(value, "__fspath__") else f"source {index + 1}"
