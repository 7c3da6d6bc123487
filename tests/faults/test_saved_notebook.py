"""A notebook run by nbclient against a server that echoes the key, saved: no byte of the key in the file."""
from __future__ import annotations

from conftest import ROOT, TEST_KEY
from tests.faults.checks import ROGUE_KEY_ENV
from tests.faults.rogue import echo_key_error, echo_key_json


def saved_without_the_key(rogue, tmp_path, monkeypatch, cells: list[str]):
    """Run the cells after loading the extension under `%xmode Verbose` and pointing it at the rogue server with
    the key, in a fresh kernel, as nbclient does; save the notebook; check that no byte of the key is in the
    file although the server had it. Returns the notebook run and the file's bytes."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    setup = ["%load_ext openai_magics", "%xmode Verbose",
             f"%openai endpoint {rogue.base_url} --key-env {ROGUE_KEY_ENV}\n%config OpenAIMagics.max_retries = 0"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in setup + cells])
    NotebookClient(notebook, timeout=60, allow_errors=True, kernel_name="python3").execute()
    path = tmp_path / "saved.ipynb"
    nbformat.write(notebook, path)
    saved = path.read_bytes()
    assert TEST_KEY.encode() not in saved and TEST_KEY[8:24].encode() not in saved
    assert any(TEST_KEY in s.authorization for s in rogue.seen)  # the server had it
    return notebook, saved


def errors_in(notebook) -> list[dict]:
    return [o for c in notebook.cells for o in c.get("outputs", []) if o["output_type"] == "error"]


def test_a_saved_notebook_holds_no_key_even_under_verbose_tracebacks(rogue, tmp_path, monkeypatch):
    rogue.script(lambda seen: echo_key_json(500)(seen) if seen.method == "GET" else echo_key_error(seen))
    notebook, _ = saved_without_the_key(rogue, tmp_path, monkeypatch, [
        "%chat hi", "%%chat --no-stream\nhi", "%embed hi", "%openai models", "%openai status"])
    errors = errors_in(notebook)
    assert len(errors) == 4 and all(len(e["traceback"]) == 1 for e in errors)  # one line each


def test_a_saved_notebook_of_answers_batch_files_and_job_events_that_echo_the_key_holds_no_key(rogue, tmp_path,
                                                                                              monkeypatch):
    from tests.faults.rogue import (Answer, batch_line, batch_object, by_path, completion, finetune_events,
                                    finetune_job, json_answer)

    monkeypatch.setenv("OPENAI_MAGICS_BATCH_DIR", str(tmp_path / "batches"))
    echo = "upstream saw Authorization: {}"
    rogue.script(by_path({
        "/chat/completions": lambda seen: json_answer(completion(echo.format(seen.authorization))),
        "/files/file-out/content": lambda seen: Answer(body=(batch_line("request-0", echo.format(seen.authorization))
                                                             + "\n").encode()),
        "/batches/batch_rogue1": json_answer(batch_object()),
        "/events": lambda seen: json_answer(finetune_events(echo.format(seen.authorization))),
        "/fine_tuning/jobs/ftjob-rogue": lambda seen: json_answer(finetune_job(
            error={"code": "x", "message": echo.format(seen.authorization), "param": None}))}))
    notebook, saved = saved_without_the_key(rogue, tmp_path, monkeypatch, [
        "%%chat --no-stream\nhi", "%openai batch results batch_rogue1", "%openai finetune status ftjob-rogue --once"])
    assert saved.count(b"upstream saw Authorization") >= 3  # each of them was shown, without the key
    assert not errors_in(notebook)
