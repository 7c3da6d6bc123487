"""%%chat --over: a prompt over every row, concurrently, within the rate limits, aligned with its input."""
import pandas as pd
import pytest

from openai_magics.views.row_results import RowError, RowResults


def chat_requests(offline):
    return [r for r in offline.requests if r.path.endswith("/chat/completions")]


def prompt_of(request):
    return request.body["messages"][-1]["content"]


def test_500_rows_come_back_in_input_order_with_failures_marked(nb, session, offline):
    nb.ns["items"] = [f"item {i}" for i in range(500)]
    offline.fail(400, message="injected failure", times=3, path="/v1/chat/completions")
    ran = nb.run("%%chat --over items -o answers --concurrency 16\nRepeat exactly: {item}")
    answers = nb.ns["answers"]
    assert ran.error is None and isinstance(answers, pd.Series) and len(answers) == 500
    failed = [i for i, v in answers.items() if isinstance(v, RowError)]
    assert len(failed) == 3 and all("injected failure" in answers[i].message for i in failed)
    assert all(f"Repeat exactly: item {i}" in answers[i] for i in range(500) if i not in failed)
    assert len(chat_requests(offline)) == 500 and len(session.ledger.records) == 497
    assert "497/500 rows answered · 3 failed" in ran.outputs[-1]["text/plain"]


def test_dataframe_rows_fill_columns_by_name_and_by_key(nb, session, offline):
    nb.ns["df"] = pd.DataFrame({"product": ["tea", "milk", "tea"], "Unit price": [2.5, 1.25, 2.5]},
                               index=["a", "b", "c"])
    nb.ns["currency"] = "EUR"
    ran = nb.run('%%chat --over df -o out\nHow is {product} at {row["Unit price"]} {currency}?')
    out = nb.ns["out"]
    assert ran.error is None and list(out.index) == ["a", "b", "c"]
    sent = sorted(prompt_of(r) for r in chat_requests(offline))
    assert sent == ["How is milk at 1.25 EUR?", "How is tea at 2.5 EUR?"]  # identical rows asked once
    assert "tea at 2.5 EUR" in out["a"] and out["a"] == out["c"] and "milk at 1.25" in out["b"]


def test_a_template_naming_a_missing_column_is_one_line_before_anything_is_sent(nb, session, offline):
    nb.ns["df"] = pd.DataFrame({"product": ["tea"], "Unit price": [2.5]})
    for template in ['{row["Unit cost"]}', "{prodcut}"]:
        ran = nb.run(f"%%chat --over df\nPrice: {template}")
        assert ran.error is not None and "Traceback" not in ran.stderr
        assert len(ran.stderr.strip().splitlines()) == 1 and "Unit price" in ran.stderr
    assert offline.requests == []


def test_schema_gives_one_object_per_row_and_cached_rows_cost_nothing(nb, session, offline, tmp_path):
    nb.run("from pydantic import BaseModel\nclass Label(BaseModel):\n    label: str\n    confidence: float")
    nb.ns["reviews"] = pd.Series(["great", "awful", "fine"])
    nb.run(f"%openai cache on {tmp_path / 'c.db'}")
    nb.run("%%chat --over reviews --schema Label -o labels\nLabel this review: {item}")
    labels = nb.ns["labels"]
    assert [type(v).__name__ for v in labels] == ["Label"] * 3
    offline.clear_log()
    ran = nb.run("%%chat --over reviews --schema Label -o again\nLabel this review: {item}")
    assert chat_requests(offline) == [] and list(nb.ns["again"]) == list(labels)
    assert "3 cached" in ran.outputs[-1]["text/plain"] and "$0" in ran.outputs[-1]["text/plain"]


def test_a_run_whose_first_row_does_not_fit_the_budget_is_refused_before_the_first_request(nb, session, offline):
    nb.ns["items"] = [f"row {i}" for i in range(200)]
    nb.run("%openai budget 0.00001")
    ran = nb.run("%%chat --over items --max-tokens 200\nSay {item}")
    assert ran.error is not None and "Refused before sending" in ran.stderr and offline.requests == []


def test_over_an_enforced_rate_limit_no_request_meets_a_429(nb, session, offline):
    offline.enforce_limits(requests=10, requests_per=0.1)
    nb.ns["items"] = list(range(120))
    ran = nb.run("%%chat --over items -o out --concurrency 16\nNumber {item}")
    assert ran.error is None and len(nb.ns["out"]) == 120
    assert [r for r in offline.requests if r.status == 429] == []


def test_the_result_shows_a_preview_and_the_run_in_one_line():
    result = RowResults("xs", [0, 1], ["yes", RowError("boom")], model="gpt-4o-mini")
    assert "1/2 rows answered · 1 failed" in result.summary and "⚠ boom" in result._repr_html_()
