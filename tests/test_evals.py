"""%%eval: a prompt over a labelled DataFrame, several models, graders; the scoreboard agrees with the rows."""
from __future__ import annotations

import pytest

SETUP = """
import pandas as pd
labels = ["positive", "negative", "neutral"]
reviews = pd.DataFrame({
    "text": [f"Review {i}: the parcel came {'on time' if i % 2 else 'late'}" + (f", {labels[i % 3]}" if i % 4 else "")
             for i in range(60)],
    "label": [labels[i % 3] for i in range(60)],
})
"""
CELL = """%%eval --data reviews -m gpt-4o-mini,gpt-4.1-mini --expect label --grader contains --grader model --judge-model gpt-4o-mini -o ev
Classify the sentiment: {text}
--- rubric ---
Pass when the answer names the expected sentiment.
"""


def _eval_requests(offline):
    return [r for r in offline.requests if r.path.endswith("/chat/completions")]


def test_eval_scoreboard_matches_a_hand_count_and_the_grader_is_in_the_ledger(nb, offline, session):
    nb.run(SETUP)
    ran = nb.run(CELL)
    assert ran.error is None, ran.error
    ev = nb.ns["ev"]
    rows = ev.rows
    assert len(rows) == 120 and set(rows["model"]) == {"gpt-4o-mini", "gpt-4.1-mini"}
    board = ev.scoreboard.set_index(["model", "grader"])
    for model in ("gpt-4o-mini", "gpt-4.1-mini"):
        mine = rows[rows["model"] == model]
        for grader in ("contains", "model"):
            hand = sum(bool(v) for v in mine[f"{grader}.pass"])
            assert board.loc[(model, grader), "passed"] == hand
            assert board.loc[(model, grader), "pass_rate"] == pytest.approx(hand / 60)
            low, high = board.loc[(model, grader), ["ci_low", "ci_high"]]
            assert low <= hand / 60 <= high
    assert 0 < board.loc[("gpt-4o-mini", "contains"), "passed"] < 60  # some rows pass, some do not
    magics = [r.magic for r in session.ledger.records]
    assert magics.count("eval") == 120 and magics.count("eval grader") == 120
    judged = [r for r in _eval_requests(offline) if r.body.get("response_format")]
    assert len(judged) == 120 and all(r.body["model"] == "gpt-4o-mini" for r in judged)
    assert "Pass when the answer names the expected sentiment." in judged[0].body["messages"][0]["content"]
    assert "pass rate" in ran.text and "95% CI" in ran.text
    widget = "application/vnd.jupyter.widget-view+json"
    bar, retired = [o for o in ran.outputs if widget in o]  # the rows' progress while they ran, kept by nothing
    assert bar[widget]["model_id"] and bar["text/plain"] == "" and retired[widget]["model_id"] == ""


def test_eval_rerun_is_all_cache_hits_at_no_cost(nb, offline, session, tmp_path):
    nb.run(f"%openai cache on {tmp_path / 'answers.sqlite'}")
    nb.run(SETUP)
    first = nb.run(CELL)
    assert first.error is None, first.error
    spent = session.ledger.total_cost
    offline.clear_log()
    again = nb.run(CELL)
    assert again.error is None
    assert _eval_requests(offline) == []
    assert session.ledger.total_cost == spent
    rerun = session.ledger.records[-240:]
    assert all(r.cache_hit and r.cost == 0 for r in rerun)
    assert nb.ns["ev"].total_cost == 0


def test_eval_refuses_bad_graders_before_sending(nb, offline, session):
    nb.run(SETUP)
    ran = nb.run("%%eval --data reviews --grader contains\nClassify: {text}")
    assert type(ran.error).__name__ == "UsageError" and "--expect" in str(ran.error)
    ran = nb.run("%%eval --data reviews --expect label --grader model --judge-model gpt-4o-mini\nClassify: {text}")
    assert type(ran.error).__name__ == "UsageError" and "rubric" in str(ran.error)
    ran = nb.run("%%eval --data reviews --expect label --grader nearly\nClassify: {text}")
    assert type(ran.error).__name__ == "UsageError" and "use one of" in str(ran.error)
    assert offline.requests == []


def test_eval_string_numeric_json_and_similarity_graders(nb, offline, session):
    nb.run("rows = [{'q': 'What is 6*7?', 'expected': '42'}, {'q': 'Say hi', 'expected': 'hello'}]")
    ran = nb.run("%%eval --data rows --expect expected --grader icontains --grader regex:Offline "
                 "--grader numeric:0.5 --grader json --grader similar:0.99 -o ev\n{q}")
    assert ran.error is None, ran.error
    rows = nb.ns["ev"].rows
    assert list(rows["regex:Offline.pass"]) == [True, True]
    assert list(rows["json.pass"]) == [False, False]
    assert any(r.path.endswith("/embeddings") for r in offline.requests)
    assert rows["similar:0.99.score"].between(-1, 1).all()


def test_to_openai_creates_an_eval_and_runs_whose_criteria_match_the_local_ones(nb, offline, session):
    nb.run(SETUP)
    ran = nb.run(CELL.replace("-o ev", "-o ev --to-openai"))
    assert ran.error is None, ran.error
    created = [r for r in offline.requests if r.method == "POST" and r.path == "/v1/evals"]
    assert len(created) == 1
    criteria = created[0].body["testing_criteria"]
    local = nb.ns["ev"].request.graders
    assert [c["name"] for c in criteria] == [g.name for g in local]
    assert criteria[0] == {"type": "string_check", "name": "contains", "input": "{{sample.output_text}}",
                           "reference": "{{item.expected}}", "operation": "like"}
    assert criteria[1]["type"] == "label_model" and criteria[1]["model"] == "gpt-4o-mini"
    assert "Pass when the answer names the expected sentiment." in criteria[1]["input"][0]["content"]
    runs = [r for r in offline.requests if r.method == "POST" and r.path.endswith("/runs")]
    assert sorted(r.body["data_source"]["model"] for r in runs) == ["gpt-4.1-mini", "gpt-4o-mini"]
    assert len(runs[0].body["data_source"]["source"]["content"]) == 60
    assert "{{item.text}}" in runs[0].body["data_source"]["input_messages"]["template"][0]["content"]
    assert any(r.method == "GET" and "/runs/" in r.path for r in offline.requests)  # followed to the end
    remote = nb.ns["ev"].remote
    assert [r["status"] for r in remote.runs] == ["completed", "completed"]
    assert "OpenAI Evals run" in ran.outputs[-1]["text/html"]
    local_contains = nb.ns["ev"].scoreboard.set_index(["model", "grader"]).loc[("gpt-4o-mini", "contains"), "passed"]
    remote_contains = next(c for c in remote.runs[0]["criteria"] if c["name"] == "contains")["passed"]
    assert remote_contains == local_contains  # same answers, same check, same count
    assert [r.magic for r in session.ledger.records].count("eval --to-openai") == 2
    assert f"OpenAI's Evals API is gone (The Evals API is deprecated. OpenAI scheduled its shutdown for November 30, " \
           f"2026. Use Promptfoo instead.); {offline.base_url} still answers it." in ran.stdout


def test_to_openai_on_openai_itself_says_the_evals_api_is_gone_as_the_sdk_does(nb, offline, session):
    from openai_magics.core.config import Secret

    nb.run(SETUP)
    session.configure(base_url=None, api_key=Secret("sk-test-not-sent", "test"))
    ran = nb.run(CELL.replace("-o ev", "-o ev --to-openai"))
    assert type(ran.error).__name__ == "UsageError" and "Traceback" not in ran.text
    assert "--to-openai: OpenAI's Evals API is gone; the installed openai SDK says: The Evals API is deprecated." \
        in str(ran.error) and "Nothing was sent" in str(ran.error)
    assert offline.requests == [] and len(session.ledger) == 0


def test_an_interrupted_eval_keeps_its_finished_rows(nb, offline, session):
    from tests.faults.test_hangs import _slow_from_now, interrupt_when

    nb.run(SETUP)
    offline.latency = 0.05

    # Once 10 rows are answered, and (however busy the machine) the rest are slow, so the stop finds them running.
    with interrupt_when(lambda: sum(r.status == 200 for r in offline.requests) >= 10, settle=0,
                        then=lambda: _slow_from_now(offline)):
        ran = nb.run("%%eval --data reviews --expect label --grader contains --concurrency 2\nClassify: {text}")
    offline.latency = 0
    assert isinstance(ran.error, KeyboardInterrupt) and "finished rows kept in _" in str(ran.error)
    kept = nb.run("_").result
    assert kept.interrupted and 0 < len(kept.rows_done) < 60
    assert all(r.answer for r in kept.rows_done)
    assert kept.scoreboard.loc[0, "graded"] == len(kept.rows_done)
    assert "Traceback" not in ran.text
