"""Texts a server wrote into files, jobs and events (batch output and error files, fine-tuning errors and events)
are redacted like API errors before they show, whatever the server echoed."""
from __future__ import annotations

import json

import pytest

from conftest import TEST_KEY
from tests.faults.checks import ROGUE_KEY_ENV, no_key, no_key_logged
from tests.faults.rogue import (Answer, batch_line, batch_object, by_path, chunk, completion, finetune_events,
                                finetune_job, json_answer)


@pytest.fixture(autouse=True)
def batch_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_MAGICS_BATCH_DIR", str(tmp_path / "batches"))


def at_rogue(nb, rogue, xmode: str) -> None:
    ran = nb.run(f"%openai endpoint {rogue.base_url} --key-env {ROGUE_KEY_ENV}")
    assert ran.error is None
    nb.run(f"%xmode {xmode}")


@pytest.fixture
def verbose_reset(nb):
    yield
    nb.run("%xmode Context")


def seen_everywhere(ran, session, logs) -> None:
    """No byte of the key in what showed, the result, its HTML, the ledger or the logs."""
    html = getattr(ran.result, "_repr_html_", lambda: "")()
    no_key(ran.text, html, repr(ran.error), session.ledger.rows())
    no_key_logged(logs)


def file_of(*lines: str) -> Answer:
    return Answer(body="\n".join(lines).encode() + b"\n", content_type="application/octet-stream")


def echoing(seen) -> str:
    return f"upstream refused; request headers were Authorization: {seen.authorization}"


def batch_server(output=None, error_file=None, **batch):
    routes = {"/files/file-out/content": output, "/files/file-err/content": error_file,
              "/batches/batch_rogue1": json_answer(batch_object(
                  output="file-out" if output else None, errors_file="file-err" if error_file else None, **batch))}
    return by_path({path: answer for path, answer in routes.items() if answer is not None})


@pytest.mark.parametrize("xmode", ["Context", "Verbose"])
def test_batch_results_whose_output_line_echoes_the_key_show_no_key(nb, rogue, one_try, logs, session, xmode,
                                                                    verbose_reset):
    at_rogue(nb, rogue, xmode)
    rogue.script(batch_server(output=lambda seen: file_of(
        batch_line("request-0", "Fine."),
        batch_line("request-1", status=500, error={"message": echoing(seen), "type": "server_error"}))))
    ran = nb.run("%openai batch results batch_rogue1")
    assert ran.error is None and TEST_KEY in rogue.seen[-1].authorization
    assert ran.result.values[0] == "Fine." and "upstream refused" in ran.result.values[1].message
    seen_everywhere(ran, session, logs)


@pytest.mark.parametrize("xmode", ["Context", "Verbose"])
def test_batch_results_whose_error_file_echoes_the_key_show_no_key(nb, rogue, one_try, logs, session, xmode,
                                                                    verbose_reset):
    at_rogue(nb, rogue, xmode)
    rogue.script(batch_server(
        output=file_of(batch_line("request-0", "Fine.")),
        error_file=lambda seen: file_of(json.dumps({"custom_id": "request-1", "response": None,
                                                    "error": {"code": "x", "message": echoing(seen)}}))))
    ran = nb.run("%openai batch results batch_rogue1")
    assert ran.error is None and "upstream refused" in str(ran.result.values[1])
    seen_everywhere(ran, session, logs)


@pytest.mark.parametrize("xmode", ["Context", "Verbose"])
def test_a_failed_batch_whose_errors_echo_the_key_says_why_without_it(nb, rogue, one_try, logs, session, xmode,
                                                                      verbose_reset):
    at_rogue(nb, rogue, xmode)
    rogue.script(lambda seen: by_path({"/batches/batch_rogue1": json_answer(batch_object(
        status="failed", output=None, counts=(0, 0, 0),
        errors=[{"code": "invalid_json_line", "line": 3, "message": echoing(seen)}]))})(seen))
    ran = nb.run("%openai batch results batch_rogue1")
    assert ran.error is not None and "failed" in str(ran.error) and "line 3: upstream refused" in str(ran.error)
    seen_everywhere(ran, session, logs)


@pytest.mark.parametrize("xmode", ["Context", "Verbose"])
@pytest.mark.parametrize("follow", ["--once", ""], ids=["once", "followed"])
def test_finetune_status_whose_error_message_echoes_the_key_shows_no_key(nb, rogue, one_try, logs, session, xmode,
                                                                         follow, verbose_reset):
    at_rogue(nb, rogue, xmode)
    rogue.script(by_path({
        "/events": json_answer(finetune_events("Job failed.")),
        "/fine_tuning/jobs/ftjob-rogue": lambda seen: json_answer(finetune_job(
            error={"code": "invalid_training_file", "message": echoing(seen), "param": None}))}))
    ran = nb.run(f"%openai finetune status ftjob-rogue {follow}")
    assert ran.error is None and "error: upstream refused" in repr(ran.result)
    seen_everywhere(ran, session, logs)


@pytest.mark.parametrize("xmode", ["Context", "Verbose"])
def test_finetune_status_whose_events_echo_the_key_shows_no_key(nb, rogue, one_try, logs, session, xmode,
                                                                verbose_reset):
    at_rogue(nb, rogue, xmode)
    rogue.script(by_path({
        "/events": lambda seen: json_answer(finetune_events("Validating training file.", echoing(seen))),
        "/fine_tuning/jobs/ftjob-rogue": json_answer(finetune_job(status="cancelled"))}))
    ran = nb.run("%openai finetune status ftjob-rogue --once")
    assert ran.error is None and "upstream refused" in repr(ran.result)
    seen_everywhere(ran, session, logs)


def _echo_in_content(seen) -> str:
    return f"Your header was {seen.authorization}; and a Bearer token is how APIs authenticate."


def _gzipped(answer: Answer) -> Answer:
    import gzip

    return Answer(status=answer.status, body=gzip.compress(answer.body), content_type=answer.content_type,
                  headers={**answer.headers, "Content-Encoding": "gzip"})


ECHOING_ANSWERS = {
    "chat": ("%chat --no-stream -o r hi", lambda seen: json_answer(completion(_echo_in_content(seen)))),
    "chat-stream": ("%chat -o r hi", lambda seen: Answer(events=[
        chunk(_echo_in_content(seen)[:20]), chunk(_echo_in_content(seen)[20:], finish="stop"), b"[DONE]"])),
    "chat-gzip": ("%chat --no-stream -o r hi", lambda seen: _gzipped(json_answer(completion(_echo_in_content(seen))))),
    "models": ("%openai models", lambda seen: json_answer({"object": "list", "data": [
        {"id": f"model-{seen.authorization}", "object": "model", "created": 1, "owned_by": "x"}]})),
    "transcribe": ("%transcribe sound", lambda seen: Answer(events=[json.dumps(e).encode() for e in (
        {"type": "transcript.text.delta", "delta": _echo_in_content(seen)},
        {"type": "transcript.text.done", "text": _echo_in_content(seen),
         "usage": {"type": "tokens", "input_tokens": 5, "output_tokens": 9, "total_tokens": 14}})])),
}


@pytest.mark.parametrize("xmode", ["Context", "Verbose"])
@pytest.mark.parametrize("case", list(ECHOING_ANSWERS))
def test_an_answer_whose_content_echoes_the_key_shows_and_keeps_no_key(nb, rogue, one_try, logs, session, tmp_path,
                                                                        case, xmode, verbose_reset):
    import io

    import numpy as np
    import soundfile

    line, answer = ECHOING_ANSWERS[case]
    buffer = io.BytesIO()
    soundfile.write(buffer, np.sin(np.arange(8000) / 5).astype(np.float32), 16000, format="WAV")
    nb.ns["sound"] = buffer.getvalue()
    nb.run(f"%openai cache on {tmp_path / 'c.sqlite'}")
    try:
        at_rogue(nb, rogue, xmode)
        rogue.script(answer)
        ran = nb.run(line)
    finally:
        nb.run("%openai cache off")
    assert ran.error is None, ran.error
    assert TEST_KEY in rogue.seen[-1].authorization and "…(redacted)" in ran.text
    if "r" in nb.ns:
        assert "a Bearer token is how APIs authenticate" in nb.ns["r"].text  # only the key is taken out
    seen_everywhere(ran, session, logs)
    no_key((tmp_path / "c.sqlite").read_bytes().decode("latin-1"))


@pytest.mark.parametrize("loss", ["NaN", "Infinity", "-Infinity", '"low"', "null"])
def test_finetune_metrics_whose_loss_is_not_a_number_are_left_out_of_the_chart(nb, rogue, one_try, loss):
    events = {"object": "list", "has_more": False, "data": [
        {"id": f"ftevent-{n}", "object": "fine_tuning.job.event", "created_at": 1, "level": "info",
         "message": f"Step {n}", "type": "metrics", "data": {"step": n, "train_loss": value}}
        for n, value in ((3, 0.9), (2, "LOSS"), (1, 1.5))]}  # newest first, as the API sends them
    body = json.dumps(events).replace('"LOSS"', loss).encode()
    nb.run(f"%openai endpoint {rogue.base_url}")
    rogue.script(by_path({"/events": Answer(body=body),
                          "/fine_tuning/jobs/ftjob-rogue": json_answer(finetune_job(status="running"))}))
    ran = nb.run("%openai finetune status ftjob-rogue --once")
    assert ran.error is None and ran.result.job.losses == [(1, 1.5), (3, 0.9)]
    assert "nan" not in ran.result._repr_html_().lower()


@pytest.mark.parametrize("placeholder", ["ollama", "EMPTY", "lm-studio"])
def test_a_placeholder_key_is_not_taken_out_of_answers_that_name_it(nb, rogue, one_try, monkeypatch, placeholder):
    monkeypatch.setenv("PLACEHOLDER_KEY", placeholder)
    nb.run(f"%openai endpoint {rogue.base_url} --key-env PLACEHOLDER_KEY")
    rogue.script(json_answer(completion(f"Yes, {placeholder} runs models locally.")))
    ran = nb.run("%chat --no-stream -o r what is it?")
    assert ran.error is None and nb.ns["r"].text == f"Yes, {placeholder} runs models locally."
    assert rogue.seen[0].authorization == f"Bearer {placeholder}"
