"""Results that would be wrong without a word: vectors from another server, lines rewritten that were not ours."""
from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from tests.faults.checks import one_line
from tests.faults.rogue import json_answer


def _vectors_answer(seen):
    texts = seen.body["input"]
    vector = base64.b64encode(np.full(8, 0.5, dtype="<f4").tobytes()).decode()
    return json_answer({"object": "list", "model": "text-embedding-3-small",
                        "data": [{"object": "embedding", "index": i, "embedding": vector} for i in range(len(texts))],
                        "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)}})


def test_vectors_are_kept_per_endpoint(nb, rogue, fast):
    first = nb.run("%embed the same text").result.vectors[0]
    nb.run(f"%openai endpoint {rogue.base_url}")
    rogue.script(_vectors_answer)
    second = nb.run("%embed the same text").result.vectors[0]
    assert len(rogue.seen) == 1 and not np.array_equal(first[:8], second[:8])  # asked the new server


QUESTION_CELLS = {
    "writefile": ("%%writefile {path}\n%chat why?\n", "file"),
    "string": ('s = """\n%chat why?\n"""', "s"),
    "one-line-string": ('s = "%chat why?"', "s"),
    "continued": ('s = "a" \\\n    "%chat why?"', "s"),
}


@pytest.mark.parametrize("name", list(QUESTION_CELLS))
def test_question_marks_are_kept_only_on_our_own_lines(nb, offline, tmp_path, name):
    cell, what = QUESTION_CELLS[name]
    path = tmp_path / "out.txt"
    ran = nb.run(cell.format(path=path))
    assert ran.error is None
    written = path.read_text() if what == "file" else nb.ns["s"]
    assert "%chat why?" in written and "run_line_magic" not in written
    assert not offline.requests


def test_a_chat_cell_body_line_is_sent_as_written(nb, offline):
    nb.run("%%chat --no-stream\nWhat does this do?\n%chat why?")
    assert offline.requests[-1].body["messages"][-1]["content"] == "What does this do?\n%chat why?"


@pytest.mark.parametrize("cell", ["%chat --no-stream Is 7 prime?", "for q in ['a']:\n    %chat --no-stream {q} why?"])
def test_a_question_on_our_own_line_reaches_the_prompt(nb, offline, cell):
    nb.run(cell)
    assert offline.requests[-1].body["messages"][-1]["content"].endswith("?")


def test_help_still_shows_help(nb, offline):
    ran = nb.run("%chat?")
    assert ran.error is None and not offline.requests


def test_without_cell_ids_a_second_continue_does_not_replace_the_first(nb, offline):
    for prompt in ("Tell me a story", "Continue.", "Continue."):
        nb.run(f"%chat --no-stream --thread story {prompt}")
    assert "story: 3 turns" in nb.run("%openai threads").stdout
    sent = offline.requests[-1].body["messages"]
    assert [m["content"] for m in sent if m["role"] == "user"] == ["Tell me a story", "Continue.", "Continue."]


@pytest.mark.parametrize("cell_id", [None, "loop-cell"])
def test_a_loop_keeps_every_turn(nb, offline, cell_id):
    nb.ns["qs"] = ["one?", "two?", "three?"]
    nb.run("for q in qs:\n    %chat --no-stream --thread T {q}", cell_id=cell_id)
    assert "T: 3 turns" in nb.run("%openai threads").stdout
    nb.run("for q in qs:\n    %chat --no-stream --thread T {q}", cell_id=cell_id)  # the same cell again
    assert f"T: {3 if cell_id else 6} turns" in nb.run("%openai threads").stdout


def test_re_running_a_notebook_cell_still_replaces_its_own_turn(nb, offline):
    nb.run("%chat --no-stream --thread R first", cell_id="a")
    nb.run("%chat --no-stream --thread R second", cell_id="b")
    nb.run("%chat --no-stream --thread R second, edited", cell_id="b")
    assert "R: 2 turns" in nb.run("%openai threads").stdout


def test_an_embed_result_pickles_and_comes_back_whole(nb, offline, tmp_path):
    nb.run("%%embed -q -o e\na cat on a mat\nthe stock market fell\nrivers of Europe")
    ran = nb.run(f"import pickle, pathlib\npathlib.Path(r'{tmp_path}/e.pkl').write_bytes(pickle.dumps(e))\n"
                 f"back = pickle.loads(pathlib.Path(r'{tmp_path}/e.pkl').read_bytes())")
    assert ran.error is None, ran.text
    e, back = nb.ns["e"], nb.ns["back"]
    assert np.array_equal(back.vectors, e.vectors) and back.texts == e.texts and back.model == e.model
    assert back.records == e.records and back.usage_line == e.usage_line
    assert str(back.search(e.vectors[1], k=1)) == str(e.search(e.vectors[1], k=1))
    one_line(nb.run("back.search('cats')"), "pass vectors instead")  # no session came with it: one line


def test_forget_frees_the_vectors_kept_in_memory(nb, session, offline):
    import gc
    import weakref

    nb.run("%%embed -q -o big\n" + "\n".join(f"text {i}" for i in range(300)))
    array = weakref.ref(nb.ns["big"].vectors.base if nb.ns["big"].vectors.base is not None else nb.ns["big"].vectors)
    nb.run("del big")
    ran = nb.run("%embed --forget")
    gc.collect()
    assert "Forgot 300 vectors" in ran.stdout and array() is None  # nothing holds the result's memory
    offline.clear_log()
    nb.run("%embed text 1")
    assert len(offline.requests) == 1  # forgotten: asked again
