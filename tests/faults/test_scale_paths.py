"""Paths given to the scale options (`--over --to`, `--resume`, `%%embed --store`, a batch job to resume): a
bad one is one line before anything is sent or charged."""
from __future__ import annotations

import os

import pandas as pd
import pytest

from tests.faults.checks import one_line


def sent(offline) -> list:
    return [r for r in offline.requests if r.path.startswith(("/v1/chat", "/v1/embeddings", "/v1/files"))]


@pytest.fixture
def rows(nb):
    nb.ns["items"] = ["a", "b"]


def test_over_to_a_folder_that_does_not_exist(nb, offline, session, rows, tmp_path):
    one_line(nb.run(f"%%chat --over items --to {tmp_path}/no/such/out.parquet\nSay {{item}}"), "does not exist")
    assert sent(offline) == [] and session.ledger.records == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_over_to_an_unwritable_folder(nb, offline, session, rows, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    one_line(nb.run(f"%%chat --over items --to {locked}/out.parquet\nSay {{item}}"), "not writable")
    assert sent(offline) == []


def test_over_to_a_file_that_is_there(nb, offline, session, rows, tmp_path):
    (tmp_path / "taken.parquet").write_bytes(b"PAR1")
    one_line(nb.run(f"%%chat --over items --to {tmp_path}/taken.parquet --resume\nSay {{item}}"), "a file is there")
    assert sent(offline) == []


def test_resume_on_another_runs_answers(nb, offline, session, rows, tmp_path):
    nb.run(f"%%chat --over items --to {tmp_path}/run.parquet\nSay {{item}}")
    offline.clear_log()
    nb.ns["items"] = ["c", "d"]  # other rows: the folder holds another run's answers
    one_line(nb.run(f"%%chat --over items --to {tmp_path}/run.parquet --resume\nSay {{item}}"), "another run")
    assert sent(offline) == []


def test_resume_on_a_parquet_folder_not_written_by_to(nb, offline, session, rows, tmp_path):
    folder = tmp_path / "theirs.parquet"
    folder.mkdir()
    pd.DataFrame({"x": [1]}).to_parquet(folder / "part-0.parquet")
    one_line(nb.run(f"%%chat --over items --to {folder} --resume\nSay {{item}}"), "not a folder `--to` wrote")
    assert sent(offline) == []


def test_over_to_without_resume_never_overwrites(nb, offline, session, rows, tmp_path):
    nb.run(f"%%chat --over items --to {tmp_path}/once.parquet\nSay {{item}}")
    offline.clear_log()
    one_line(nb.run(f"%%chat --over items --to {tmp_path}/once.parquet\nSay {{item}}"), "--resume")
    assert sent(offline) == []


def test_store_path_that_is_not_a_store(nb, offline, session, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    one_line(nb.run(f"%embed --store {tmp_path}"), "not a store")
    nb.ns["docs"] = ["one", "two"]
    one_line(nb.run(f"%embed --input docs --store {tmp_path}"), "something else is there")
    one_line(nb.run(f"%embed --store {tmp_path}/nothing"), "does not exist")
    assert sent(offline) == []


def test_store_of_another_model_or_size(nb, offline, session, tmp_path):
    nb.ns["docs"] = ["one", "two"]
    nb.run(f"%embed --input docs --store {tmp_path}/s --dimensions 32")
    offline.clear_log()
    one_line(nb.run(f"%embed --input docs --store {tmp_path}/s --dimensions 64"), "same model and --dimensions")
    assert sent(offline) == []


def test_parquet_input_without_the_column(nb, offline, session, tmp_path):
    pd.DataFrame({"body": ["x"]}).to_parquet(tmp_path / "in.parquet")
    one_line(nb.run(f"%embed --input {tmp_path}/in.parquet --store {tmp_path}/s"), "no column 'text'", "--column")
    (tmp_path / "bad.parquet").write_text("not parquet")
    one_line(nb.run(f"%embed --input {tmp_path}/bad.parquet --store {tmp_path}/s2"), "not a readable Parquet file")
    assert sent(offline) == []


def test_resume_of_a_batch_job_not_on_this_machine(nb, offline, session, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_MAGICS_BATCH_DIR", str(tmp_path / "batches"))
    one_line(nb.run("%openai batch resume job-123456789abc"), "No batch job job-123456789abc")
    one_line(nb.run("%openai batch resume"), "No sharded batch job to resume")
    assert sent(offline) == []
