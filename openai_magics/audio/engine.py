"""Sending audio calls: transcripts (long files in pieces, sent concurrently, stitched with their offsets)
and speech (long text in sentence-bounded parts, joined), each request cached, bounded by the budget and
recorded in the ledger."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import math

from openai_magics.audio.request import SpeakRequest, TranscribeRequest
from openai_magics.audio.result import Speech, Transcript
from openai_magics.audio.split import pieces
from openai_magics.facts.data import load
from openai_magics.core.errors import CallFailed
from openai_magics.metering.usage import Usage

CONCURRENCY = 4
AUDIO_TOKENS_PER_MINUTE = 1_000     # what gpt-4o transcription bills an audio minute as, about
LOWEST_BITRATE = 16_000             # bits/s: the most seconds a file of unknown format could hold
SPEECH_AUDIO_TOKENS_PER_CHARACTER = 2  # a worst case for gpt-4o-mini-tts's audio output


# --- transcription ------------------------------------------------------------------------------

def run_transcribe(session, request: TranscribeRequest, on_text=None) -> Transcript:
    limit = load("audio_models.json")["upload_limit_bytes"]
    jobs = [(source, piece, offset) for source in request.sources for piece, offset in pieces(source, limit)]
    seconds = [_duration_bound(piece) for _, piece, _ in jobs]
    worst = session.worst_case(request.model, _worst_usage(request, sum(seconds)))
    what = f"{sum(seconds) / 60:,.1f} min of audio on {request.model}"
    with session.reserve(worst, what, model=request.model, advice="Transcribe less audio"):
        if len(jobs) == 1 or on_text is not None:
            answers = [_transcribe_piece(session, request, piece, on_text) for _, piece, _ in jobs]
        else:
            answers = _transcribe_at_once(session, request, [piece for _, piece, _ in jobs])
    return Transcript.stitch(request, [(source, offset, answer, record) for (source, _, offset), (answer, record)
                                       in zip(jobs, answers)])


def _transcribe_at_once(session, request: TranscribeRequest, pieces: list) -> list:
    """Each piece's (answer, record), sent concurrently; an interrupt stops the uploads in flight on the wire."""
    from openai_magics.wire.fanout import FanOut

    with FanOut(lambda i: _transcribe_piece(session, request, pieces[i], None), range(len(pieces)),
                concurrency=CONCURRENCY, name="openai-magics-audio") as answers:
        finished = sorted(answers, key=lambda done: done.item)
    return [done.result() for done in finished]


def _duration_bound(audio) -> float:
    seconds = audio.duration()
    return seconds if seconds is not None else len(audio.data) * 8 / LOWEST_BITRATE


def _worst_usage(request: TranscribeRequest, seconds: float) -> Usage:
    if request.model_facts is not None and request.model_facts.get("streams"):  # billed by tokens
        audio = math.ceil(seconds * AUDIO_TOKENS_PER_MINUTE / 60)
        return Usage(input_tokens=audio + 4 * len(request.prompt or ""), input_audio_tokens=audio,
                     output_tokens=math.ceil(seconds * 10))
    return Usage(audio_seconds=math.ceil(seconds))


def _transcribe_piece(session, request: TranscribeRequest, audio, on_text):
    from openai_magics.cache.policy import send_through_cache

    call = session.begin("transcribe")
    params = {"model": request.model, "file_sha256": hashlib.sha256(audio.data).hexdigest(),
              "response_format": request.wire_format, "language": request.language, "prompt": request.prompt,
              "timestamp_granularities": request.granularities, "translate": request.translate}
    api = "audio.translations" if request.translate else "audio.transcriptions"
    answer, hit = send_through_cache(session, call, api, params, lambda: _ask(session, request, audio, on_text),
                                     kind="transcribe", enabled=request.cache, what=audio.label)
    if hit and on_text is not None:
        on_text(answer.get("text", ""))
    usage, estimated = _transcript_usage(answer, audio)
    record = call.record(request.model, usage, estimated=estimated, cache_hit=hit)
    return answer, record


def _ask(session, request: TranscribeRequest, audio, on_text) -> dict:
    endpoint = session.client.audio.translations if request.translate else session.client.audio.transcriptions
    options = {"model": request.model, "file": (audio.filename, audio.data, audio.media_type),
               "response_format": request.wire_format}
    for name, value in (("language", request.language), ("prompt", request.prompt),
                        ("timestamp_granularities", request.granularities)):
        if value and not (request.translate and name != "prompt"):
            options[name] = value
    with session.api_errors(request.model):
        if request.streams and on_text is not None:
            return _streamed(endpoint.create(**options, stream=True), on_text)
        answer = endpoint.create(**options)
    return _plain(answer)


def _streamed(events, on_text) -> dict:
    text, usage = "", None
    for event in events:
        if event.type == "transcript.text.delta":
            text += event.delta
            on_text(event.delta)
        elif event.type == "transcript.text.done":
            text, usage = event.text, _plain(getattr(event, "usage", None))
    if not text.strip():
        raise CallFailed("The transcript stream ended with no text: nothing was heard, or the stream was cut.")
    return {"text": text, "usage": usage}


def _plain(value):
    """A response (SDK model, str or dict) as JSON-able data."""
    if value is None or isinstance(value, (dict, list)):
        return value
    if isinstance(value, str):
        return {"text": value}
    return json.loads(value.model_dump_json(exclude_none=True))


def _transcript_usage(answer: dict, audio) -> tuple[Usage, bool]:
    """The usage the server reported (tokens, or a duration) when it is sane; else the audio's length, estimated."""
    reported = answer.get("usage")
    if isinstance(reported, dict) and reported.get("type") in ("tokens", "duration"):
        usage = Usage.from_transcription(reported)
        if usage is not None:
            return usage, False
    seconds = answer.get("duration") or audio.duration()
    return Usage(audio_seconds=float(seconds or 0)), True  # the server did not say: by the audio's length


# --- speech -------------------------------------------------------------------------------------

def run_speak(session, request: SpeakRequest) -> Speech:
    parts = request.parts()
    worst = session.worst_case(request.model, _speech_worst(request))
    with session.reserve(worst, f"{len(request.text):,} characters on {request.model}", model=request.model,
                         advice="Say less"):
        spoken = [_speak_part(session, request, text) for text in parts]
    return Speech.join(request, spoken)


def _speech_worst(request: SpeakRequest) -> Usage:
    if request.model.startswith("tts-1"):
        return Usage(characters=len(request.text))
    tokens = len(request.text)  # a token is at least a character's worth of text
    audio = SPEECH_AUDIO_TOKENS_PER_CHARACTER * len(request.text)
    return Usage(input_tokens=tokens, output_tokens=audio, output_audio_tokens=audio)


def _speak_part(session, request: SpeakRequest, text: str):
    from openai_magics.cache.policy import send_through_cache

    call = session.begin("speak")
    params = {"model": request.model, "input": text, "voice": request.voice, "response_format": request.format,
              "speed": request.speed, "instructions": request.instructions}

    def send() -> dict:
        with session.api_errors(request.model):
            response = session.client.audio.speech.create(**{k: v for k, v in params.items() if v is not None})
        data = response.content
        if not data:
            raise CallFailed("The server answered with no audio.")
        return {"audio": base64.b64encode(data).decode("ascii")}

    answer, hit = send_through_cache(session, call, "audio.speech", params, send, kind="speak",
                                     enabled=request.cache, what=f"“{text[:40]}”")
    data = base64.b64decode(answer["audio"])
    usage, estimated = _speech_usage(request, text, data)
    record = call.record(request.model, usage, estimated=estimated, cache_hit=hit)
    return data, record


def _speech_usage(request: SpeakRequest, text: str, data: bytes) -> tuple[Usage, bool]:
    if request.model.startswith("tts-1"):
        return Usage(characters=len(text)), False
    from openai_magics.facts.tokens import count_text

    seconds = _seconds(data) or 0.0
    audio = math.ceil(seconds * 1250 / 60)  # gpt-4o-mini-tts bills about 1,250 audio tokens a minute
    tokens = count_text(text, request.model).tokens
    return Usage(input_tokens=tokens, output_tokens=audio, output_audio_tokens=audio), True


def _seconds(data: bytes) -> float | None:
    import soundfile

    try:
        return soundfile.info(io.BytesIO(data)).duration
    except Exception:  # pcm and formats soundfile cannot read
        return None
