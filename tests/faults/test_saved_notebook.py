"""A notebook run by nbclient against a server that echoes the key, saved: no byte of the key in the file."""
from __future__ import annotations

from conftest import ROOT, TEST_KEY
from tests.faults.checks import ROGUE_KEY_ENV
from tests.faults.rogue import echo_key_error, echo_key_json


def test_a_saved_notebook_holds_no_key_even_under_verbose_tracebacks(rogue, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    rogue.script(lambda seen: echo_key_json(500)(seen) if seen.method == "GET" else echo_key_error(seen))
    cells = ["%load_ext openai_magics", "%xmode Verbose",
             f"%openai endpoint {rogue.base_url} --key-env {ROGUE_KEY_ENV}\n%config OpenAIMagics.max_retries = 0",
             "%chat hi", "%%chat --no-stream\nhi", "%embed hi", "%openai models", "%openai status"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=60, allow_errors=True, kernel_name="python3").execute()
    path = tmp_path / "saved.ipynb"
    nbformat.write(notebook, path)
    saved = path.read_bytes()
    assert TEST_KEY.encode() not in saved and TEST_KEY[8:24].encode() not in saved
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert len(errors) == 4 and all(len(e["traceback"]) == 1 for e in errors)  # one line each
    assert any(TEST_KEY in s.authorization for s in rogue.seen)  # the server had it, and echoed it


def test_a_saved_notebook_of_answers_batch_files_and_job_events_that_echo_the_key_holds_no_key(rogue, tmp_path,
                                                                                              monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    from tests.faults.rogue import (Answer, batch_line, batch_object, by_path, completion, finetune_events,
                                    finetune_job, json_answer)

    monkeypatch.setenv("PYTHONPATH", str(ROOT))
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
    cells = ["%load_ext openai_magics", "%xmode Verbose",
             f"%openai endpoint {rogue.base_url} --key-env {ROGUE_KEY_ENV}\n%config OpenAIMagics.max_retries = 0",
             "%%chat --no-stream\nhi", "%openai batch results batch_rogue1", "%openai finetune status ftjob-rogue --once"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=60, allow_errors=True, kernel_name="python3").execute()
    path = tmp_path / "saved.ipynb"
    nbformat.write(notebook, path)
    saved = path.read_bytes()
    assert TEST_KEY.encode() not in saved and TEST_KEY[8:24].encode() not in saved
    assert saved.count(b"upstream saw Authorization") >= 3  # each of them was shown, without the key
    assert not [o for c in notebook.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert any(TEST_KEY in s.authorization for s in rogue.seen)
