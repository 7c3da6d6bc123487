"""A batch of any size: shards within OpenAI's lines and bytes per file, the enqueued-token queue, one progress
over all shards, a manifest on disk that `%openai batch resume` carries over a restart, failures retried once."""
import json
import os

import pytest

from openai_magics.views.row_results import RowError


@pytest.fixture(autouse=True)
def batch_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_MAGICS_BATCH_DIR", str(tmp_path / "batches"))
    return tmp_path / "batches"


def uploads(offline):
    return [r for r in offline.requests if r.method == "POST" and r.path.startswith("/v1/files")]


def created(offline):
    return [r for r in offline.requests if r.method == "POST" and r.path == "/v1/batches"]


def small_shards(session, lines=None, nbytes=None):
    from openai_magics.batch.shards import ShardLimits

    limits = session.part(ShardLimits)
    limits.lines, limits.bytes = lines or limits.lines, nbytes or limits.bytes


def test_a_60001_row_batch_runs_as_two_shards_with_results_aligned(nb, session, offline):
    nb.ns["items"] = [f"n{i}" for i in range(60_001)]
    ran = nb.run("%%chat --over items --batch -o answers --max-tokens 1\n{item}")
    assert ran.error is None, ran.error
    assert "60,001 requests in 2 shards" in ran.stdout and "at the batch price" in ran.stdout
    answers = nb.ns["answers"]
    assert len(answers) == 60_001 and not any(isinstance(v, RowError) for v in answers)
    assert [len(r.files["file"].data.splitlines()) for r in uploads(offline)] == [50_000, 10_001]
    assert len(created(offline)) == 2
    records = session.ledger.records
    assert len(records) == 60_001 and all(r.batch for r in records)
