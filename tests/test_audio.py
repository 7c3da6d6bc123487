"""%%speak and %%transcribe over the offline server: real audio both ways, long files cut at silences and
stitched, subtitles, prices by the minute, the character and the token, the cache, and bad input."""
from __future__ import annotations

import io
from decimal import Decimal

import numpy as np
import pytest
import soundfile
from IPython.core.error import UsageError

import openai_magics
from openai_magics.audio.result import Speech, Transcript

RATE = 16_000


def audio_requests(offline, path):
    return [r for r in offline.requests if r.path.endswith(path)]


def tones(seconds: float, every: float = 4.0, length: float = 1.0, rate: int = RATE):
    """A signal of `length`-second 220 Hz tones every `every` seconds, silence between: (samples, tone starts).
    One period is made and repeated (a whole number of cycles each), not the whole signal computed."""
    period = np.zeros(int(every * rate), dtype=np.float32)
    period[: int(length * rate)] = 0.3 * np.sin(2 * np.pi * 220 * np.arange(int(length * rate)) / rate)
    total = int(seconds * rate)
    return np.tile(period, -(-total // len(period)))[:total], np.arange(0, seconds, every)


def test_speak_then_transcribe_gives_the_words_back(nb, offline):
    ran = nb.run("%%speak -m tts-1 --format wav -o said\nHello there. How are you today?")
    said = nb.ns["said"]
    assert isinstance(said, Speech) and said.duration > 2 and bytes(said)[:4] == b"RIFF"
    assert "<audio controls preload=\"metadata\"" in ran.outputs[-1]["text/html"]  # its duration shows before play
    nb.ns["clip"] = bytes(said)
    heard = nb.run("%%transcribe -m whisper-1 --timestamps word\nclip").result
    assert isinstance(heard, Transcript) and heard.text == "Hello there. How are you today?"
    assert list(heard.segments["text"]) == ["Hello there.", "How are you today?"]
    assert [w["word"] for w in heard.words][:2] == ["Hello", "there."]


def test_a_file_over_the_limit_is_cut_at_silences_and_stitched_with_its_offsets(session, offline, tmp_path):
    samples, starts = tones(860)  # 16 kHz 16-bit mono: about 27.5 MB, over the API's 25 MB (2^20 bytes each)
    path = tmp_path / "lecture.wav"
    soundfile.write(path, samples, RATE, subtype="PCM_16")
    assert path.stat().st_size > 25 * 2**20
    result = openai_magics.transcribe(str(path), model="whisper-1")
    sent = audio_requests(offline, "/audio/transcriptions")
    assert len(sent) == 2 and result.pieces == 2
    starts_heard = [s["start"] for s in result.segments_list]
    assert starts_heard == sorted(starts_heard) and len(starts_heard) == len(starts)
    assert np.allclose(starts_heard, starts, atol=0.06)  # every tone where it is in the file, across the cut
    assert len(session.ledger.records) == 2


def test_subtitles_parse(session, offline):
    said = openai_magics.speak("One sentence here. And a second one.", model="tts-1", format="wav")
    heard = openai_magics.transcribe(bytes(said), model="whisper-1", format="srt")
    blocks = heard.srt.strip().split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == ["1", "2"]
    assert all(" --> " in b.splitlines()[1] for b in blocks)
    assert heard.vtt.startswith("WEBVTT\n\n00:00:00.")
    assert str(heard) == heard.srt


def test_whisper_is_charged_by_the_minute_and_tts_by_the_character(session, offline):
    said = openai_magics.speak("Prices, by the character.", model="tts-1", format="wav")
    assert said.record.cost == Decimal(len("Prices, by the character.")) * Decimal("15") / Decimal(1_000_000)
    heard = openai_magics.transcribe(bytes(said), model="whisper-1")
    seconds = heard.record.usage.audio_seconds
    assert seconds == int(seconds) and heard.record.cost == Decimal(str(seconds)) * Decimal("0.006") / 60


def test_gpt_4o_transcribe_is_charged_by_its_tokens_as_genai_prices_computes(session, offline):
    from genai_prices import Usage as PricedUsage, calc_price

    said = openai_magics.speak("Tokens, this time.", model="tts-1", format="wav")
    heard = openai_magics.transcribe(bytes(said), model="gpt-4o-transcribe")
    usage = heard.record.usage
    assert usage.input_audio_tokens > 0 and usage.output_tokens > 0
    expected = calc_price(PricedUsage(input_tokens=usage.input_tokens, input_audio_tokens=usage.input_audio_tokens,
                                      output_tokens=usage.output_tokens), "gpt-4o-transcribe", provider_id="openai")
    by_hand = ((usage.input_tokens - usage.input_audio_tokens) * Decimal("2.5") + usage.input_audio_tokens * 6
               + usage.output_tokens * 10) / Decimal(1_000_000)  # text in, audio in and out per million
    assert heard.record.cost == expected.total_price == by_hand


def test_a_repeat_is_a_cache_hit_at_no_cost(nb, offline, tmp_path):
    nb.run(f"%openai cache on {tmp_path / 'audio.sqlite'}")
    first = nb.run("%%speak -m tts-1 --format wav\nSay it twice.").result
    again = nb.run("%%speak -m tts-1 --format wav\nSay it twice.").result
    assert len(audio_requests(offline, "/audio/speech")) == 1
    assert bytes(again) == bytes(first) and again.record.cache_hit and again.record.cost == 0
    nb.ns["clip"] = bytes(first)
    nb.run("%%transcribe -m whisper-1\nclip")
    hit = nb.run("%%transcribe -m whisper-1\nclip").result
    assert len(audio_requests(offline, "/audio/transcriptions")) == 1 and hit.record.cache_hit


def test_a_numpy_array_with_its_rate(nb, offline):
    samples, _ = tones(10, every=2.0)
    nb.ns["wave"] = samples
    result = nb.run("%%transcribe -m whisper-1 --rate 16000\nwave").result
    assert len(result.segments_list) == 5


@pytest.mark.parametrize("cell, says", [
    ("%%transcribe -m whisper-1\nno/such/file.wav", "no such file"),
    ("%%transcribe -m whisper-1\nwave", "needs its sample rate"),
    ("%%transcribe -m whisper-1\n", "is empty"),
    ("%transcribe -m whisper-1", "Nothing to transcribe"),
    ("%%transcribe -m gpt-4o-transcribe --format srt\nclip", "answers in json, text"),
    ("%%transcribe -m gpt-4o-transcribe --translate\nclip", "does not translate"),
    ("%%speak -m tts-1\n   ", "the text is empty"),
    ("%%speak -m tts-1 --format ogg\nhi", "--format must be one of"),
    ("%%speak -m tts-1 --speed 9\nhi", "--speed must be between"),
    ("%%speak -m tts-1 -v robot\nhi", "the voices are"),
])
def test_bad_input_is_one_line_and_nothing_is_sent_or_charged(nb, offline, cell, says):
    nb.ns["wave"] = np.zeros(1000, dtype=np.float32)
    nb.ns["clip"] = b"RIFF0000WAVE"
    ran = nb.run(cell)
    assert isinstance(ran.error, UsageError) and says in ran.stderr, ran.stderr
    assert "Traceback" not in ran.stderr
    assert offline.requests == [] and len(openai_magics.session().ledger) == 0


def test_an_unsupported_format_over_the_limit_is_refused_with_how_to_convert(session, offline, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg here
    path = tmp_path / "talk.m4a"
    path.write_bytes(b"\x00\x00\x00\x18ftypM4A " + bytes(26 * 2**20))
    with pytest.raises(UsageError, match="can only be cut with ffmpeg.*ffmpeg -i IN"):
        openai_magics.transcribe(str(path), model="whisper-1")
    assert offline.requests == []


def test_the_budget_bounds_a_transcription_by_the_audio_length_before_sending(nb, offline):
    samples, _ = tones(120, every=2.0)
    nb.ns["talk"] = samples
    nb.run("%openai budget 0.005")
    ran = nb.run("%%transcribe -m whisper-1 --rate 16000\ntalk")  # 2 minutes: $0.012 at worst
    assert isinstance(ran.error, UsageError) and "Refused before sending" in ran.stderr
    assert "2.0 min of audio on whisper-1" in ran.stderr and offline.requests == []
    nb.run("%openai budget off")
