"""A notebook run by nbclient against a server that echoes the key, saved: no byte of the key in the file."""
from __future__ import annotations

import pytest

from conftest import ROOT, TEST_KEY
from tests.faults.checks import ROGUE_KEY_ENV
from tests.faults.rogue import (Answer, batch_line, batch_object, by_path, completion, echo_key_error, echo_key_json,
                                finetune_events, finetune_job, json_answer)

ECHO = "upstream saw Authorization: {}"


def _errors_echoing_the_key(seen):
    return echo_key_json(500)(seen) if seen.method == "GET" else echo_key_error(seen)


def _answers_batch_files_and_job_events_echoing_the_key():
    return by_path({
        "/chat/completions": lambda seen: json_answer(completion(ECHO.format(seen.authorization))),
        "/files/file-out/content": lambda seen: Answer(body=(batch_line("request-0", ECHO.format(seen.authorization))
                                                             + "\n").encode()),
        "/batches/batch_rogue1": json_answer(batch_object()),
        "/events": lambda seen: json_answer(finetune_events(ECHO.format(seen.authorization))),
        "/fine_tuning/jobs/ftjob-rogue": lambda seen: json_answer(finetune_job(
            error={"code": "x", "message": ECHO.format(seen.authorization), "param": None}))})


# Each case: the rogue server's script, then the cells run against it.
CASES = {
    "errors": (_errors_echoing_the_key,
               ["%chat hi", "%%chat --no-stream\nhi", "%embed hi", "%openai models", "%openai status"]),
    "answers": (_answers_batch_files_and_job_events_echoing_the_key(),
                ["%%chat --no-stream\nhi", "%openai batch results batch_rogue1",
                 "%openai finetune status ftjob-rogue --once"]),
}


@pytest.fixture(scope="module")
def saved(rogue_server, tmp_path_factory):
    """Every case's cells in one fresh kernel, as nbclient runs a notebook (a kernel's start is seconds of the
    suite), after loading the extension under `%xmode Verbose` and pointing it at the rogue server with the key;
    the notebook saved. Returns the file's bytes, and per case its cells and whether the server had the key."""
    import nbformat
    from nbclient import NotebookClient

    folder = tmp_path_factory.mktemp("saved-notebook")
    setup = ["%load_ext openai_magics", "%xmode Verbose",
             f"%openai endpoint {rogue_server.base_url} --key-env {ROGUE_KEY_ENV}\n%config OpenAIMagics.max_retries = 0"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in setup])
    cases = {}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYTHONPATH", str(ROOT))
        env.setenv(ROGUE_KEY_ENV, TEST_KEY)
        env.setenv("OPENAI_MAGICS_BATCH_DIR", str(folder / "batches"))
        client = NotebookClient(notebook, timeout=60, allow_errors=True, kernel_name="python3")
        with client.setup_kernel():
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
            for name, (script, sources) in CASES.items():
                rogue_server.script(script)
                cells = [nbformat.v4.new_code_cell(source) for source in sources]
                for cell in cells:
                    notebook.cells.append(cell)
                    client.execute_cell(cell, len(notebook.cells) - 1)
                cases[name] = (cells, any(TEST_KEY in s.authorization for s in rogue_server.seen))
    rogue_server.script()
    path = folder / "saved.ipynb"
    nbformat.write(notebook, path)
    return path.read_bytes(), cases


def errors_in(cells) -> list[dict]:
    return [o for c in cells for o in c.get("outputs", []) if o["output_type"] == "error"]


def test_a_saved_notebook_holds_no_key_even_under_verbose_tracebacks(saved):
    data, cases = saved
    assert TEST_KEY.encode() not in data and TEST_KEY[8:24].encode() not in data
    cells, server_had_the_key = cases["errors"]
    assert server_had_the_key  # and echoed it
    errors = errors_in(cells)
    assert len(errors) == 4 and all(len(e["traceback"]) == 1 for e in errors)  # one line each


def test_a_saved_notebook_of_answers_batch_files_and_job_events_that_echo_the_key_holds_no_key(saved):
    data, cases = saved
    assert TEST_KEY.encode() not in data and TEST_KEY[8:24].encode() not in data
    cells, server_had_the_key = cases["answers"]
    assert server_had_the_key
    shown = "".join(str(o) for c in cells for o in c.get("outputs", []))
    assert shown.count("upstream saw Authorization") >= 3  # each of them was shown, without the key
    assert not errors_in(cells)
