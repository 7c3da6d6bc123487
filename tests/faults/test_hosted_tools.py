"""Hosted tools' faults: bad input to a store or the code interpreter (a missing path, an empty folder, a file
over the Files API's 512 MB, a store name never made) is one line with nothing uploaded; a server without
/responses names the tool it lacks; a store answer without an id, a failure echoing the key, a file the
container will not give back: one line or a note, never a traceback, the key nowhere."""
from __future__ import annotations

import pytest

from tests.faults.checks import no_key, one_line
from tests.faults.rogue import by_path, echo_key_json, json_answer

SIX_HUNDRED_MB = 600 * 1024 * 1024


@pytest.fixture(autouse=True)
def store_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_MAGICS_STORE_DIR", str(tmp_path / "stores"))


def uploads(offline):
    return [r for r in offline.requests if r.method == "POST" and r.path.endswith(("/files", "/vector_stores"))]


def huge(tmp_path):
    """A file the size of 600 MB without writing 600 MB: a sparse file (its size is all the check reads)."""
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:
        f.truncate(SIX_HUNDRED_MB)
    return path


@pytest.mark.parametrize("case", ["missing path", "empty folder", "600 MB file", "no match", "one of two missing"])
@pytest.mark.parametrize("cell", ["%openai store create notes {}", "%%chat --python --file {}\nSummarise it."])
def test_bad_files_are_one_line_and_nothing_is_uploaded(nb, offline, session, tmp_path, case, cell):
    (tmp_path / "empty").mkdir()
    (tmp_path / "ok.txt").write_text("fine")
    target = {"missing path": tmp_path / "nowhere.txt", "empty folder": tmp_path / "empty",
              "600 MB file": huge(tmp_path) if case == "600 MB file" else None,
              "no match": tmp_path / "*.pdf",
              "one of two missing": f"{tmp_path / 'ok.txt'} {tmp_path / 'gone.txt'}"}[case]
    if cell.startswith("%%chat") and case == "one of two missing":
        target = f"{tmp_path / 'ok.txt'} --file {tmp_path / 'gone.txt'}"
    line = one_line(nb.run(cell.format(target)))
    assert "nothing was uploaded" in line.lower() or "no such file" in line, line
    if case == "600 MB file":
        assert "600 MB" in line and "512 MB" in line
    assert not uploads(offline) and not [r for r in offline.requests if r.path.endswith("/responses")]


@pytest.mark.parametrize("cell", ["%%chat --files nowhere\nWhat do my notes say?", "%openai store status nowhere",
                                  "%openai store add nowhere x.txt", "%openai store delete nowhere"])
def test_an_unknown_store_name_is_one_line_before_sending(nb, offline, session, cell):
    one_line(nb.run(cell), "No store named 'nowhere'", "%openai store list")
    assert not offline.requests


def test_a_store_name_made_twice_is_one_line(nb, offline, session, tmp_path):
    (tmp_path / "a.txt").write_text("Alpha.")
    assert nb.run(f"%openai store create notes {tmp_path / 'a.txt'}").error is None
    sent = len(offline.requests)
    one_line(nb.run(f"%openai store create notes {tmp_path / 'a.txt'}"), "exists already", "store add notes")
    assert len(offline.requests) == sent


@pytest.mark.parametrize("tool, words", [("--web", "web search (--web)"),
                                         ("--python", "the code interpreter (--python)")])
@pytest.mark.parametrize("profile", ["llama.cpp", "no_responses"])
def test_a_server_without_responses_names_the_tool(nb, offline, session, tool, words, profile):
    offline.behave_like(profile)
    line = one_line(nb.run(f"%%chat {tool}\nHow tall is Mount Everest?"), "no Responses API", words)
    assert "--api chat" not in line  # Chat Completions has no such tool: that advice would not help


def test_chat_completions_set_for_the_session_refuses_before_sending(nb, offline, session):
    nb.run('%config OpenAIMagics.api = "chat"')
    try:
        one_line(nb.run("%%chat --web\nHow tall is Mount Everest?"), "needs the Responses API", "Nothing was sent")
    finally:
        nb.run('%config OpenAIMagics.api = "auto"')
    assert not offline.requests


def test_a_store_answer_without_an_id_is_one_line(nb, rogue, fast, tmp_path):
    (tmp_path / "a.txt").write_text("Alpha.")
    nb.run(f"%openai endpoint {rogue.base_url}")
    uploaded = {"id": "file-rogue1", "object": "file", "bytes": 6, "created_at": 1, "filename": "a.txt",
                "purpose": "assistants", "status": "processed"}
    rogue.script(by_path({"/files": json_answer(uploaded), "/vector_stores": json_answer({"object": "vector_store"})}))
    one_line(nb.run(f"%openai store create notes {tmp_path / 'a.txt'}"), "holds no id")


@pytest.mark.parametrize("status", [400, 500])
def test_a_store_failure_echoing_the_key_is_one_line_without_it(nb, rogue, fast, tmp_path, status):
    (tmp_path / "a.txt").write_text("Alpha.")
    nb.run(f"%openai endpoint {rogue.base_url}")
    rogue.script(echo_key_json(status))
    nb.run("%xmode Verbose")
    try:
        ran = nb.run(f"%openai store create notes {tmp_path / 'a.txt'}")
    finally:
        nb.run("%xmode Context")
    one_line(ran)
    no_key(ran.text)


def test_a_made_file_the_container_will_not_give_back_is_a_note_and_the_answer_is_kept(nb, offline, session):
    nb.run("import pandas as pd\nsales = pd.DataFrame({'units': [3, 5, 4]})")
    offline.fail(404, path="/content", times=2, message="No such container file")
    ran = nb.run("%%chat --python --file sales -o r\nChart the sales.")
    assert ran.error is None and "stand-in" in nb.ns["r"].text
    assert "chart.png could not be downloaded" in ran.outputs[-1]["text/markdown"]
    assert session.ledger.records[-1].usage.containers == 1


@pytest.mark.parametrize("cell, words", [("%openai store create notes {path}", "no Files API"),
                                         ("%%chat --python --file {path}\nSummarise it.", "no Files API")])
def test_a_server_without_the_files_api_is_one_line_naming_it(nb, rogue, fast, tmp_path, cell, words):
    (tmp_path / "a.csv").write_text("n\n1\n")
    nb.run(f"%openai endpoint {rogue.base_url}")
    rogue.script(json_answer({"error": {"message": "Not Found", "type": "invalid_request_error"}}, 404))
    line = one_line(nb.run(cell.format(path=tmp_path / "a.csv")), words, "/files")
    assert "--python, a store" in line
    assert [s.path for s in rogue.seen] == ["/v1/files"]  # nothing after the refused upload


def test_a_server_without_vector_stores_is_one_line_naming_them(nb, rogue, fast, tmp_path):
    (tmp_path / "a.txt").write_text("Alpha.")
    nb.run(f"%openai endpoint {rogue.base_url}")
    uploaded = {"id": "file-rogue1", "object": "file", "bytes": 6, "created_at": 1, "filename": "a.txt",
                "purpose": "assistants", "status": "processed"}
    rogue.script(by_path({"/files": json_answer(uploaded)}))  # /vector_stores: a 404
    one_line(nb.run(f"%openai store create notes {tmp_path / 'a.txt'}"), "no vector stores", "%openai store")
