"""The Batch API: %%chat --over … --batch, the offline server's /batches, results aligned and half price."""
from decimal import Decimal

import pandas as pd
import pytest

from openai_magics.views.row_results import RowError


@pytest.fixture(autouse=True)
def batch_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_MAGICS_BATCH_DIR", str(tmp_path / "batches"))
    return tmp_path / "batches"


def paths(offline):
    return [(r.method, r.path.split("?")[0]) for r in offline.requests]


def test_500_rows_through_a_batch_come_back_in_input_order_with_failures_marked(nb, session, offline):
    nb.ns["items"] = [f"item {i}" for i in range(500)]
    offline.fail_batch_lines(3, "injected failure")
    ran = nb.run("%%chat --over items --batch -o answers\nRepeat exactly: {item}")
    answers = nb.ns["answers"]
    assert ran.error is None and isinstance(answers, pd.Series) and len(answers) == 500
    failed = [i for i, v in answers.items() if isinstance(v, RowError)]
    assert len(failed) == 3 and all("injected failure" in answers[i].message for i in failed)
    assert all(f"Repeat exactly: item {i}" in answers[i] for i in range(500) if i not in failed)
    assert ("POST", "/v1/files") in paths(offline) and ("POST", "/v1/batches") in paths(offline)
    assert not any(p == "/v1/chat/completions" for _, p in paths(offline))  # nothing asked interactively
    records = session.ledger.records
    assert len(records) == 497 and all(r.batch and r.magic == "batch" for r in records)


def test_a_batch_costs_half_the_interactive_price_for_the_same_tokens(nb, session, offline):
    nb.ns["items"] = ["alpha", "beta", "gamma"]
    nb.run("%%chat --over items --no-cache -o live\nSay {item}")
    live = session.ledger.records
    nb.run("%%chat --over items --batch -o batched\nSay {item}")
    batched = session.ledger.records[len(live):]
    assert [r.usage for r in sorted(batched, key=lambda r: r.usage.input_tokens)] == \
        [r.usage for r in sorted(live, key=lambda r: r.usage.input_tokens)]
    assert sum(r.cost for r in batched) * 2 == sum(r.cost for r in live) > Decimal(0)


def test_results_are_collected_by_id_from_a_fresh_session(nb, session, offline):
    from openai_magics.core.session import reset_session

    nb.ns["df"] = pd.DataFrame({"Unit price": [3, 1, 2]}, index=[10, 20, 30])
    ran = nb.run('%%chat --over df --batch --no-wait\nIs {row["Unit price"]} cheap?')
    batch_id = ran.result.id
    assert "batch results" in str(ran.result)
    fresh = reset_session()
    fresh.configure(base_url=session.config.base_url, api_key=session.config.api_key, bills="openai")
    import time
    for _ in range(100):
        if "completed" in str(nb.run(f"%openai batch status {batch_id}").result):
            break
        time.sleep(0.02)
    got = nb.run(f"%openai batch results {batch_id}").result
    assert list(got.series.index) == [10, 20, 30]
    assert "Is 3 cheap?" in got.series[10] and "Is 2 cheap?" in got.series[30]
    assert len(fresh.ledger.records) == 3 and all(r.batch for r in fresh.ledger.records)
    nb.run(f"%openai batch results {batch_id}")
    assert len(fresh.ledger.records) == 3  # collected twice, paid once


def test_cancel_stops_a_batch_and_keeps_what_finished(nb, session, offline):
    offline.batch_pace(0.02)
    nb.ns["items"] = list(range(200))
    batch_id = nb.run("%%chat --over items --batch --no-wait\nNumber {item}").result.id
    cancelled = nb.run(f"%openai batch cancel {batch_id}").result
    assert cancelled.status in ("cancelling", "cancelled")
    import time
    for _ in range(100):
        status = nb.run(f"%openai batch status {batch_id}").result
        if status.status == "cancelled":
            break
        time.sleep(0.02)
    assert status.status == "cancelled" and status.completed < 200
    got = nb.run(f"%openai batch results {batch_id}").result
    assert len(got) == 200 and len(got.errors) == 200 - status.completed
    assert "not run" in str(next(iter(got.errors.values()))) or "no result" in str(next(iter(got.errors.values())))
    assert batch_id in nb.run("%openai batch list").result.text


def test_batch_list_shows_the_most_recent_and_says_when_there_are_more(nb, session, offline):
    nb.ns["items"] = [1, 2]
    ids = [nb.run(f"%%chat --over items --batch --no-wait\nRound {n}: {{item}}").result.id for n in range(3)]
    shown = nb.run("%openai batch list --limit 2").result.text
    assert ids[2] in shown and ids[1] in shown and ids[0] not in shown
    assert "`%openai batch list --limit 10` shows more" in shown
    assert all(i in nb.run("%openai batch list --limit 3").result.text for i in ids)


def test_a_batch_id_that_is_not_known_is_one_line(nb, session, offline):
    ran = nb.run("%openai batch results batch_nope")
    shown = (ran.stdout + ran.stderr).strip()
    assert ran.error is not None and "Traceback" not in shown and len(shown.splitlines()) == 1
    assert "No batch batch_nope" in shown


def test_embed_through_a_batch_gives_the_same_vectors_at_half_the_price(nb, session, offline):
    import numpy as np

    nb.ns["texts"] = ["a cat", "a dog", "a cat", "stocks fell"]
    nb.run("%embed --input texts --no-cache -o live")
    ran = nb.run("%embed --input texts --batch -o batched")
    live, batched = nb.ns["live"], nb.ns["batched"]
    assert ran.error is None and batched.vectors.shape == live.vectors.shape
    assert np.allclose(batched.vectors, live.vectors, atol=1e-6)
    assert sum(r.usage.input_tokens for r in batched.records) == sum(r.usage.input_tokens for r in live.records)
    assert sum(r.cost for r in batched.records) * 2 == sum(r.cost for r in live.records) > 0
    assert all(r.batch for r in batched.records) and len(batched.records) == 3  # identical texts asked once


def test_an_embedding_batch_with_a_failed_text_marks_the_row(nb, session, offline):
    offline.fail_batch_lines(1, "injected failure")
    nb.ns["texts"] = ["one", "two", "three"]
    result = nb.run("%embed --input texts --batch").result
    assert len(result.errors) == 1 and "injected failure" in str(list(result.errors.values())[0])
