"""Bad input is one line and sends nothing; bad answers are one line or a result that says what is wrong."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from conftest import TEST_KEY
from tests.faults.checks import ROGUE_KEY_ENV, no_key, one_line
from tests.faults.rogue import Answer, chunk, json_answer


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "-1", "lots", "$-0.5", "sNaN", "0.5.5"])
def test_a_budget_that_is_not_an_amount_is_one_line(nb, session, amount):
    session.budget = Decimal("1")
    one_line(nb.run(f"%openai budget {amount}"))
    assert session.budget == Decimal("1")


@pytest.mark.parametrize("kind", ["chat", "embed", "image", "transcribe", "speech"])
def test_a_model_kind_alone_is_not_a_model_name(nb, session, kind):
    before = dict(session.config.models)
    one_line(nb.run(f"%openai model {kind}"), "Name the model too")
    assert session.config.models == before


@pytest.mark.parametrize("setting", ["timeout = -1", "timeout = 0", "timeout = float('inf')", "max_retries = -1",
                                     "max_retries = 1000", "max_tokens = 0", "max_tokens = -5"])
def test_config_values_that_cannot_work_are_refused(nb, session, setting):
    before = (session.config.timeout, session.config.max_retries, session.config.max_tokens)
    try:
        ran = nb.run(f"%config OpenAIMagics.{setting}")
    finally:
        nb.run(f"%config OpenAIMagics.{setting.split()[0]} = None")  # the shell's configuration forgets it
    assert ran.stderr.count("nothing changed") == 1 and len(ran.stderr.strip().splitlines()) == 1
    assert (session.config.timeout, session.config.max_retries, session.config.max_tokens) == before


def test_csv_into_a_missing_folder_is_one_line(nb, tmp_path):
    nb.run("%chat --no-stream hi")
    one_line(nb.run(f"%openai usage --csv {tmp_path}/no/such/folder/u.csv"), "Cannot write")


def test_csv_and_cache_file_hold_no_key(nb, session, rogue, fast, tmp_path):
    nb.run(f"%openai cache on {tmp_path}/c.sqlite")
    nb.run("%chat --no-stream -t 0 hi")
    nb.run("%embed some text")
    nb.run(f"%openai endpoint {rogue.base_url} --key-env {ROGUE_KEY_ENV}")
    rogue.script(lambda seen: json_answer({"error": {"message": f"echo {seen.authorization}"}}, 500))
    nb.run("%chat --no-stream -t 0 again")
    nb.run(f"%openai usage --csv {tmp_path}/u.csv")
    nb.run("%openai cache off")
    for path in tmp_path.iterdir():
        assert TEST_KEY.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("where", ["/proc/no-such-dir/c.sqlite", "{tmp}", "{tmp}/file.txt/c.sqlite"])
def test_a_cache_path_that_cannot_be_a_database_is_one_line(nb, session, tmp_path, where):
    (tmp_path / "file.txt").write_text("not a folder")
    one_line(nb.run(f"%openai cache on {where.format(tmp=tmp_path)}"), "Cannot use")
    assert nb.run("%openai cache off").error is None
    assert nb.run("%chat --no-stream still works").error is None


ODD_PATHS = {"unwritable": "/proc/no-such-dir/c.sqlite", "a-folder": "{tmp}", "under-a-file": "{tmp}/file.txt/c.sqlite"}


@pytest.mark.parametrize("first", ["%openai cache off", "%openai status", "%openai cache", "%openai budget 1",
                                   "%chat --no-stream hi"])
@pytest.mark.parametrize("where", list(ODD_PATHS))
def test_an_odd_cache_path_in_the_environment_is_one_warning_and_breaks_nothing(nb, session, offline, tmp_path,
                                                                                monkeypatch, where, first):
    (tmp_path / "file.txt").write_text("not a folder")
    monkeypatch.setenv("OPENAI_MAGICS_CACHE", ODD_PATHS[where].format(tmp=tmp_path))
    warned = []
    for cell in (first, "%chat --no-stream hi", "%openai status", "%openai cache off", "%embed hi"):
        ran = nb.run(cell)
        assert ran.error is None, ran.text
        warned += [line for line in ran.stderr.splitlines() if line.strip()]
    assert len(warned) == (first != "%openai cache off") and all("OPENAI_MAGICS_CACHE" in w and "The cache is off" in w for w in warned)
    assert "Traceback" not in "".join(warned)
    assert "cache:    off" in nb.run("%openai status").stdout
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


@pytest.mark.parametrize("where", list(ODD_PATHS))
def test_an_odd_replay_path_in_the_environment_refuses_calls_until_replay_is_off(nb, session, offline, tmp_path,
                                                                                 monkeypatch, where):
    (tmp_path / "file.txt").write_text("not a folder")
    monkeypatch.setenv("OPENAI_MAGICS_REPLAY", ODD_PATHS[where].format(tmp=tmp_path))
    one_line(nb.run("%chat --no-stream hi"), "OPENAI_MAGICS_REPLAY", "Nothing was sent", "%openai replay off")
    one_line(nb.run("%embed hi"), "OPENAI_MAGICS_REPLAY")
    assert not offline.requests
    status = nb.run("%openai status")
    assert status.error is None and "OPENAI_MAGICS_REPLAY" in status.stdout
    assert nb.run("%openai replay off").error is None
    assert nb.run("%chat --no-stream hi").error is None and len(offline.requests) == 1


def test_cache_clear_of_a_missing_file_makes_none(nb, tmp_path):
    one_line(nb.run(f"%openai cache clear {tmp_path}/none.sqlite"), "No cache file")
    assert not list(tmp_path.iterdir())


def test_a_damaged_replay_file_stays_where_it_shipped(nb, tmp_path):
    shipped = tmp_path / "answers.sqlite"
    shipped.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    one_line(nb.run(f"%openai replay {shipped}"), "damaged")
    assert [p.name for p in tmp_path.iterdir()] == ["answers.sqlite"]


def test_models_in_replay_mode_sends_nothing(nb, offline, tmp_path):
    nb.run(f"%openai cache on {tmp_path}/c.sqlite")
    nb.run(f"%openai replay {tmp_path}/c.sqlite")
    offline.clear_log()
    one_line(nb.run("%openai models"), "Replay mode")
    assert not offline.requests
    nb.run("%openai replay off")


SURROGATE_CELLS = {
    "chat-line": "%chat --no-stream {bad}",
    "chat-cell": "%%chat --no-stream\n{bad}",
    "chat-system": "%chat --no-stream -s {bad} hi",
    "embed-line": "%embed {bad}",
    "embed-input": "%embed --input bads",
}


@pytest.mark.parametrize("name", list(SURROGATE_CELLS))
def test_a_lone_surrogate_is_one_line_and_nothing_is_sent(nb, offline, name):
    nb.ns.update(bad="broken \ud83d emoji", bads=["fine", "broken \udc00"])
    one_line(nb.run(SURROGATE_CELLS[name]))
    assert not offline.requests


class Sulky:
    def __str__(self):
        raise ValueError("I will not be printed")


@pytest.mark.parametrize("cell", ["%chat --no-stream tell me about {obj}", "%%chat --no-stream\n{obj}", "%embed {obj}"])
def test_an_object_whose_str_fails_is_one_line(nb, offline, cell):
    nb.ns["obj"] = Sulky()
    one_line(nb.run(cell), "{obj}", "could not be turned into text")
    assert not offline.requests


BAD_OPTIONS = [
    "%chat --temperature 3 hi", "%chat --max-tokens 0 hi", "%chat --max-tokens -5 hi", "%chat -o 'not a name' hi",
    "%chat --detail low hi", "%chat --new hi", "%chat --schema NoSuchModel hi", "%chat --tools no_such_fn hi",
    "%chat --tools '' hi", "%chat --image /no/such/picture.png hi", "%chat --max-rounds 0 --tools f hi",
    "%chat --api nonsense hi", "%chat --reasoning-effort extreme hi", "%chat", "%%chat\n   ",
    "%embed --concurrency 0 x", "%embed --dimensions -1 x", "%embed --dimensions 99999 x", "%embed --input nothing_here",
    "%embed", "%embed -o 1x hi", "%chat --json --schema S hi", "%tokens --model",
]


@pytest.mark.parametrize("line", BAD_OPTIONS)
def test_bad_options_are_one_line_and_send_nothing(nb, offline, line):
    nb.ns["f"] = lambda: None
    one_line(nb.run(line))
    assert not offline.requests


@pytest.mark.parametrize("cell", [
    "%chat -o 'not a name' hi", "%chat --no-stream -o 1x hi", "%embed -o 'a b' hi", "%%image -o 'not a name'\nA cat",
    "%%speak -o 1x\nHello", "%transcribe -o 'a b' clip", "%moderate -o 'x y' hi", "%%chat --over rows -o 'a b'\n{x}",
    "%chat -m gpt-4o-mini,gpt-4.1-mini -o 'bad name' hi"])
def test_an_invalid_output_name_is_refused_before_the_paid_request(nb, offline, session, cell):
    nb.ns.update(clip=b"RIFF", rows=[{"x": 1}])
    one_line(nb.run(cell), "-o needs a Python name")
    assert not offline.requests and not session.ledger.records


@pytest.mark.parametrize("cell", ["%chat -s 'It's fine' --no-stream hello", "%%chat -s 'It's fine' --no-stream\nhello",
                                  "%chat --api responses -s 'It's fine' --no-stream hello"])
def test_a_system_prompt_with_an_apostrophe_is_sent_whole(nb, offline, cell):
    assert nb.run(cell).error is None
    body = offline.requests[-1].body
    system = body.get("instructions") or body.get("messages", [{}])[0].get("content")
    assert system == "It's fine"


def test_a_stale_previous_response_says_to_start_afresh(nb, rogue, fast):
    nb.run(f"%openai endpoint {rogue.base_url}")
    rogue.script(json_answer({"error": {"message": "Previous response with id 'resp_1' not found.",
                                        "type": "invalid_request_error", "param": "previous_response_id"}}, 400))
    one_line(nb.run("%chat --api responses --no-stream --thread T hi"), "--new")


FAILED = {"type": "response.failed", "sequence_number": 1, "response": {
    "id": "resp_x", "object": "response", "created_at": 1, "model": "gpt-4o-mini", "status": "failed",
    "output": [], "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
    "error": {"code": "server_error", "message": "The model crashed."}}}


def test_a_failed_response_event_is_not_an_empty_success(nb, rogue, fast, session):
    nb.run(f"%openai endpoint {rogue.base_url}")
    rogue.script(Answer(events=[json.dumps(FAILED).encode()]))
    one_line(nb.run("%chat --api responses hi"), "response failed", "The model crashed")
    rogue.script(json_answer(FAILED["response"]))
    one_line(nb.run("%chat --api responses --no-stream hi"), "response failed")


def test_a_stream_that_never_says_it_finished_is_marked_incomplete(nb, rogue, fast):
    nb.run(f"%openai endpoint {rogue.base_url}")
    rogue.script(Answer(events=[chunk("All of "), chunk("it?"), b"[DONE]"]))
    ran = nb.run("%chat -o r hi")
    assert nb.ns["r"].text == "All of it?" and "no finish reason" in nb.ns["r"].incomplete
    no_key(ran.text)


MALFORMED = {
    "sse-not-json": Answer(events=[b"{not json"]),
    "sse-wrong-shape": Answer(events=[b'{"unexpected": true}', b"[DONE]"]),
    "json-cut": Answer(body=b'{"id": "x", "choices": [', content_type="application/json"),
    "json-list": Answer(body=b"[1, 2, 3]", content_type="application/json"),
    "plain-text-200": Answer(body=b"OK", content_type="text/plain"),
    "html-200": Answer(body=b"<html><body>Welcome to nginx</body></html>", content_type="text/html"),
    "html-502": Answer(status=502, body=b"<html><title>502 Bad Gateway</title></html>", content_type="text/html"),
    "empty-200": Answer(body=b"", content_type="application/json"),
}


@pytest.mark.parametrize("line", ["%chat hi", "%chat --no-stream hi", "%embed hi", "%chat --api responses hi"],
                         ids=["stream", "no-stream", "embed", "responses"])
@pytest.mark.parametrize("answer", list(MALFORMED))
def test_a_malformed_answer_is_one_line(nb, rogue, fast, session, answer, line):
    nb.run(f"%openai endpoint {rogue.base_url}")
    rogue.script(MALFORMED[answer])
    ran = nb.run(line)
    if ran.error is None:  # a stream that brought nothing usable: the result must say so
        assert ran.result.incomplete or ran.result.text == "", ran.result
    else:
        one_line(ran)


@pytest.mark.parametrize("line", ["%chat hi", "%chat --api responses hi", "%chat --json answer in JSON",
                                  "%chat --tools f what?"], ids=["chat", "responses", "json", "tools"])
def test_a_stream_cut_before_any_text_is_one_line(nb, offline, line):
    def f(x: str) -> str:
        """A tool."""
        return x

    nb.ns["f"] = f
    offline.cut_stream(0, times=10)
    one_line(nb.run(line))


@pytest.mark.parametrize("magic", ["chat", "embed", "moderate", "tokens", "transcribe"])
def test_words_after_the_options_of_a_cell_magic_line_are_one_line_and_nothing_is_sent(nb, offline, magic):
    one_line(nb.run(f"%%{magic} -m gpt-4o-mini stray words\nHello"), f"Unexpected text on the %%{magic} line")
    assert offline.requests == []


def test_a_transcription_reporting_impossible_usage_is_estimated_from_the_audio(nb, session, rogue, fast):
    import numpy as np

    nb.run(f"%openai endpoint {rogue.base_url} --key-env {ROGUE_KEY_ENV} --bills openai")
    rogue.script(json_answer({"text": "Hello.", "usage": {"type": "tokens", "input_tokens": -5, "output_tokens": 3}}))
    nb.ns["sound"] = np.zeros(32_000, dtype=np.float32)
    ran = nb.run("%transcribe -m whisper-1 --rate 16000 sound")
    assert ran.error is None and ran.result.text == "Hello." and "≈" in ran.result.usage_line
    [row] = session.ledger.records
    assert row.estimated and row.usage.audio_seconds == 2 and row.usage.input_tokens == 0
