"""Things that are not there: a server without a moderation endpoint is said as such (not as a wrong model name),
and audio of zero bytes or zero length is one line before anything is sent."""
from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile

from tests.faults.checks import one_line
from tests.faults.rogue import Answer, by_path, completion, json_answer


def not_found(message: str):
    return json_answer({"error": {"message": message, "type": "invalid_request_error", "code": None}}, 404)


@pytest.mark.parametrize("status", [404, 405, 501])
@pytest.mark.parametrize("line", ["%moderate hello", "%%moderate\nhello", "%chat --moderate --no-stream hi"],
                         ids=["line", "cell", "chat-moderate"])
def test_a_server_without_moderations_says_so_not_wrong_model(nb, rogue, fast, session, line, status):
    nb.run(f"%openai endpoint {rogue.base_url}")
    answer = json_answer({"error": {"message": "Not Found", "type": "invalid_request_error"}}, status)
    rogue.script(by_path({"/moderations": answer, "/chat/completions": json_answer(completion())}))
    said = one_line(nb.run(line), "no moderation endpoint", "/moderations")
    assert "model name" not in said and not any(s.path.endswith("/chat/completions") for s in rogue.seen)


def test_a_404_naming_the_moderation_model_is_still_about_the_model(nb, rogue, fast):
    nb.run(f"%openai endpoint {rogue.base_url}")
    rogue.script(not_found("The model `omni-moderation-latest` does not exist"))
    one_line(nb.run("%moderate hello"), "Check the model name")


def wav(seconds: float) -> bytes:
    out = io.BytesIO()
    t = np.arange(int(16000 * seconds)) / 16000
    soundfile.write(out, (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000, format="WAV")
    return out.getvalue()


def transcriptions(offline):
    return [r for r in offline.requests if "/audio/" in r.path]


@pytest.mark.parametrize("source", ["empty-file", "empty-bytes", "empty-bytearray", "zero-frame-wav",
                                    "zero-frame-wav-file", "empty-array"])
@pytest.mark.parametrize("magic", ["%transcribe", "%%transcribe"])
def test_zero_byte_or_zero_length_audio_is_one_line_before_sending(nb, offline, session, tmp_path, source, magic):
    target = "sound"
    if source == "empty-file":
        (tmp_path / "empty.wav").write_bytes(b"")
        target = str(tmp_path / "empty.wav")
    elif source == "zero-frame-wav-file":
        (tmp_path / "silent.wav").write_bytes(wav(0))
        target = str(tmp_path / "silent.wav")
    elif source == "empty-array":
        nb.ns["sound"] = np.zeros(0, dtype=np.float32)
    else:
        nb.ns["sound"] = {"empty-bytes": b"", "empty-bytearray": bytearray(), "zero-frame-wav": wav(0)}[source]
    line = f"{magic} {target}" if magic == "%transcribe" else f"{magic}\n{target}"
    if source == "empty-array":
        line = line.replace(target, f"{target} --rate 16000") if magic == "%transcribe" else line
    one_line(nb.run(line), "nothing was sent" if source != "empty-array" else "")
    assert not transcriptions(offline) and not session.ledger.records


def test_an_empty_download_is_one_line_before_sending(nb, rogue, offline, session):
    rogue.script(Answer(body=b"", content_type="audio/wav"))
    url = rogue.base_url.removesuffix("/v1") + "/empty.wav"
    one_line(nb.run(f"%transcribe {url}"), "0 bytes", "nothing was sent")
    assert not transcriptions(offline)


def test_a_short_real_clip_is_still_sent(nb, offline):
    nb.ns["sound"] = wav(0.5)
    assert nb.run("%transcribe sound").error is None and len(transcriptions(offline)) == 1
