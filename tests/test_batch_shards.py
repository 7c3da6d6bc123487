"""A batch of any size: shards within OpenAI's lines and bytes per file, the enqueued-token queue, one progress
over all shards, a manifest on disk that `%openai batch resume` carries over a restart, failures retried once."""
import json
import os

import pandas as pd
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


def row_groups(path) -> list:
    import pyarrow.parquet as pq

    results = pq.ParquetFile(path)
    return [results.read_row_group(i).to_pandas() for i in range(results.num_row_groups)]


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
    path = ran.text.split("results also in ")[1].split()[0].rstrip("·")
    groups = row_groups(path)  # each shard's answers appended as it was collected, whichever ended first
    assert sorted((g["shard"].iloc[0], len(g), set(g["shard"])) for g in groups) == [(0, 50_000, {0}), (1, 10_001, {1})]
    written = pd.read_parquet(path).sort_values("row")
    assert list(written["row"]) == list(range(60_001)) and written["error"].isna().all()
    assert all(written["answer"].values == answers.values)


def test_shards_wait_for_the_models_queue_and_learn_its_limit(nb, session, offline):
    from openai_magics.batch.shards import QueueLimits

    small_shards(session, lines=4)
    offline.batch_queue(60)  # about one shard of these rows at a time
    offline.batch_pace(0.03)  # the first shard still runs when the second is submitted
    nb.ns["items"] = [f"n{i}" for i in range(10)]
    ran = nb.run("%%chat --over items --batch -o answers\nSay {item}")
    assert ran.error is None, ran.error
    assert "10 requests in 3 shards" in ran.stdout
    answers = nb.ns["answers"]
    assert all(f"Say n{i}*" in answers[i] for i in range(10))
    assert session.part(QueueLimits).tokens[session.config.models["chat"]] == 60
    batches = nb.run("%openai batch list --limit 50").result.data["batches"]
    assert len(batches) > 3  # a shard the queue refused was submitted again once there was room
    assert len(session.ledger.records) == 10


def test_failed_rows_are_asked_again_alone_once(nb, session, offline):
    small_shards(session, lines=5)
    offline.fail_batch_lines(2, "injected failure")
    nb.ns["items"] = [f"n{i}" for i in range(12)]
    ran = nb.run("%%chat --over items --batch -o answers\nSay {item}")
    assert ran.error is None, ran.error
    answers = nb.ns["answers"]
    assert not any(isinstance(v, RowError) for v in answers) and all(f"Say n{i}*" in answers[i] for i in range(12))
    assert "2 rows failed or not run, asked again alone once: 2 answered" in ran.text
    retry = uploads(offline)[-1].files["file"].data.splitlines()
    assert len(uploads(offline)) == 4 and len(retry) == 2  # three shards, then the two failed rows alone
    groups = row_groups(ran.text.split("results also in ")[1].split()[0].rstrip("·"))
    retried = [g for g in groups if set(g["shard"]) == {3}]  # the retry's rows: the file's last row group
    assert len(groups) == 4 and groups[-1] is retried[0] and len(retried[0]) == 2
    assert sorted(row for g in groups for row in g["row"]) == list(range(12))  # each row once


def test_a_job_is_resumed_from_its_manifest_in_a_fresh_session(nb, session, offline, batch_dir):
    from openai_magics.core.session import reset_session

    small_shards(session, lines=3)
    offline.batch_queue(30)
    offline.batch_pace(0.01)
    nb.ns["df"] = __import__("pandas").DataFrame({"x": range(7)}, index=[f"r{i}" for i in range(7)])
    ran = nb.run('%%chat --over df --batch --no-wait\nNumber {x}')
    assert ran.error is None and "batch resume job-" in str(ran.result)
    job = str(ran.result).split()[1]
    manifest = json.loads((batch_dir / "jobs" / job / "manifest.json").read_text())
    assert len(manifest["shards"]) == 3 and not all(s["batch"] for s in manifest["shards"])
    fresh = reset_session()  # a restarted kernel: only the manifest on disk knows the job
    fresh.configure(base_url=session.config.base_url, api_key=session.config.api_key, bills="openai")
    got = nb.run("%openai batch resume").result
    assert list(got.series.index) == [f"r{i}" for i in range(7)]
    assert all(f"Number {i}" in got.series[f"r{i}"] for i in range(7))
    assert len(fresh.ledger.records) == 7
    assert "No sharded batch job to resume" in str(nb.run("%openai batch resume").error)


def test_a_shard_holds_at_most_200_mb_of_long_rows(nb, session, offline, batch_dir):
    from openai_magics.batch.shards import line_of

    most = 200 * 1024 * 1024
    long = "lorem ipsum dolor sit amet " * 3_000  # 81 KB a row: 2,600 rows are ≈ 205 MB of batch lines
    nb.ns["items"] = [f"{i:05d} {long}" for i in range(2_600)]
    offline.batch_pace(60)  # nothing runs: the shards are what is looked at
    ran = nb.run("%%chat --over items --batch --no-wait --max-tokens 5\nSummarise {item}")
    assert ran.error is None, ran.error
    assert "2,600 requests in 2 shards" in ran.stdout
    files = uploads(offline)
    shard_sizes = [len(f.files["file"].data) for f in files]
    lines = [f.files["file"].data.count(b"\n") for f in files]
    body = lambda i: {"model": session.config.models["chat"], "messages": [
        {"role": "user", "content": f"Summarise {i:05d} {long}"}], "max_completion_tokens": 5}
    size = len(line_of("request-0", "/v1/chat/completions", body(0)))  # every line is this long, give or take a digit
    assert sum(lines) == 2_600 and all(s <= most for s in shard_sizes)
    assert lines[0] == most // size and shard_sizes[0] + size > most  # the first shard is as full as it can be
    for batch in nb.run("%openai batch list --limit 5").result.data["batches"]:
        nb.run(f"%openai batch cancel {batch}")
    for f in session.client.files.list():
        session.client.files.delete(f.id)


def test_rows_the_response_cache_answers_are_not_put_in_the_batch(nb, session, offline, tmp_path):
    nb.run(f"%openai cache on {tmp_path / 'responses.sqlite'}")
    try:
        nb.ns["items"] = ["a", "b"]
        nb.run("%%chat --over items -t 0 -q\nSay {item}")  # asked live: now in the cache
        offline.clear_log()
        nb.ns["items"] = ["a", "b", "c", "a"]
        ran = nb.run("%%chat --over items -t 0 --batch -o answers\nSay {item}")
        assert ran.error is None, ran.error
        sent = [json.loads(line)["body"]["messages"][-1]["content"]
                for line in uploads(offline)[0].files["file"].data.splitlines()]
        assert sent == ["Say c"]
        answers = nb.ns["answers"]
        assert [("Say " + x) in answers[i] for i, x in enumerate("abca")] == [True] * 4
        assert "3 rows answered from the response cache (not sent)" in ran.text
    finally:
        nb.run("%openai cache off")


def test_a_resumed_job_writes_each_row_once_a_row_group_per_shard(nb, session, offline, batch_dir):
    from openai_magics.core.session import reset_session

    small_shards(session, lines=3)
    offline.batch_queue(60)  # the first shard fits the queue; the second, of long rows, never does alone
    long = "word " * 40
    nb.ns["items"] = ["n0", "n1", "n2", f"n3 {long}", f"n4 {long}", f"n5 {long}", "n6"]
    ran = nb.run("%%chat --over items --batch -o answers\nSay {item}")
    assert "The queue refused shard shard-1.jsonl" in str(ran.error)
    job = str(ran.error).split(" of job ")[1].split()[0]
    path = batch_dir / "jobs" / job / "results.parquet"
    assert [sorted(g["row"]) for g in row_groups(path)] == [[0, 1, 2]]  # the first shard written as it ended
    assert len(session.ledger.records) == 3

    offline.batch_queue(None)  # the queue has room again
    fresh = reset_session()  # a restarted kernel
    fresh.configure(base_url=session.config.base_url, api_key=session.config.api_key, bills="openai")
    got = nb.run("%openai batch resume").result
    assert all(f"Say n{i}" in got.series[i] for i in range(7))
    assert len(fresh.ledger.records) == 4  # the first shard's rows were recorded before the restart
    groups = sorted((sorted(g["row"]), set(g["shard"])) for g in row_groups(path))
    assert groups == [([0, 1, 2], {0}), ([3, 4, 5], {1}), ([6], {2})]

    again = nb.run(f"%openai batch resume {job}").result  # a collected job: nothing written or recorded again
    assert list(again.series) == list(got.series) and len(fresh.ledger.records) == 4
    assert sorted(sorted(g["row"]) for g in row_groups(path)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_shards_recorded_but_not_in_a_readable_file_are_written_again_without_paying_twice(nb, session, offline, batch_dir):
    from openai_magics.core.session import reset_session

    small_shards(session, lines=3)
    nb.ns["items"] = [f"n{i}" for i in range(7)]
    ran = nb.run("%%chat --over items --batch -o answers\nSay {item}")
    assert ran.error is None, ran.error
    path = next(batch_dir.glob("jobs/*/results.parquet"))
    path.write_bytes(b"not parquet")  # a file lost: what the manifest says was recorded is written again
    (path.parent / ".results.parquet.tmp").write_bytes(b"half")  # a pass killed before its file replaced the last
    fresh = reset_session()
    fresh.configure(base_url=session.config.base_url, api_key=session.config.api_key, bills="openai")
    got = nb.run(f"%openai batch resume {path.parent.name}").result
    assert all(f"Say n{i}" in got.series[i] for i in range(7)) and len(fresh.ledger.records) == 0
    assert sorted(sorted(g["row"]) for g in row_groups(path)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_sharded_vectors_and_objects_are_read_back_from_the_file_as_they_were(nb, session, offline):
    import numpy as np

    small_shards(session, lines=2)
    nb.ns["texts"] = ["a cat", "a dog", "a cat", "stocks fell", "rain"]
    nb.run("%embed --input texts --no-cache -o live")
    ran = nb.run("%embed --input texts --batch -o batched")
    assert ran.error is None, ran.error
    assert np.allclose(nb.ns["batched"].vectors, nb.ns["live"].vectors, atol=1e-6)
    assert len(nb.ns["batched"].records) == 4  # identical texts asked once, each answer recorded once
    nb.ns["items"] = ["n0", "n1", "n2"]
    ran = nb.run("%%chat --over items --batch --json -o objects\nAnswer in JSON about {item}")
    assert ran.error is None, ran.error
    assert all(isinstance(value, dict) for value in nb.ns["objects"])
