"""%%eval refuses, before any row is sent, what cannot work: a schema grader given a string or an invalid schema,
an expected-answer column some rows lack, a template naming a missing column, --concurrency 0; a row with no
expected answer never passes a `contains` check; an Evals run's text from the server is redacted."""
from __future__ import annotations

import pytest

from tests.faults.checks import ROGUE_KEY_ENV, no_key, one_line

ROWS = "rows = [{'q': 'Say hi', 'expected': 'hello'}, {'q': 'Say bye', 'expected': 'bye'}]"


def chats(offline):
    return [r for r in offline.requests if r.path.endswith("/chat/completions")]


BAD = {
    "schema-is-a-string": ("not_a_schema = 'a string'", "--grader schema:not_a_schema", "a str is not a schema"),
    "schema-is-invalid": ("bad = {'type': 'objekt'}", "--grader schema:bad", "not a valid JSON schema"),
    "schema-properties-not-a-dict": ("bad = {'type': 'object', 'properties': 3}", "--grader schema:bad",
                                     "not a valid JSON schema"),
    "schema-is-a-list": ("bad = [1, 2]", "--grader schema:bad", "a list is not a schema"),
    "expect-column-missing": ("", "--expect answer --grader contains", "no such column"),
    "expect-missing-in-one-row": ("rows.append({'q': 'Say yes'})", "--expect expected --grader contains",
                                  "1 row of rows without an expected answer (row 2)"),
    "expect-none-in-one-row": ("rows.append({'q': 'Say yes', 'expected': None})", "--expect expected --grader equals",
                               "without an expected answer"),
    "expect-empty-in-one-row": ("rows.append({'q': 'Say yes', 'expected': '  '})",
                                "--expect expected --grader icontains", "without an expected answer"),
    "expect-nan-numeric": ("rows.append({'q': 'Say 3', 'expected': float('nan')})",
                           "--expect expected --grader numeric:0.5", "without an expected answer"),
    "concurrency-0": ("", "--expect expected --grader contains --concurrency 0", "--concurrency must be positive"),
    "concurrency-negative": ("", "--expect expected --grader contains --concurrency -2", "must be positive"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_an_eval_that_cannot_work_is_one_line_before_any_row_is_sent(nb, offline, session, case):
    setup, options, says = BAD[case]
    nb.run(ROWS)
    if setup:
        nb.run(setup)
    one_line(nb.run(f"%%eval --data rows {options}\n{{q}}"), says)
    assert not offline.requests and not session.ledger.records


@pytest.mark.parametrize("template,says", [("{qq}", "{qq}: neither a column of rows"),
                                           ("Answer: {question}", "{question}"),
                                           ("{q} then {expected} then {nope}", "{nope}")])
def test_an_eval_template_naming_a_missing_column_is_one_line_before_sending(nb, offline, session, template, says):
    nb.run(ROWS)
    line = one_line(nb.run(f"%%eval --data rows --expect expected --grader contains\n{template}"), says,
                    "Nothing was sent")
    assert "row[" not in line and not offline.requests


def test_an_eval_template_reading_a_missing_cell_is_one_line(nb, offline):
    nb.run("import pandas as pd\ndf = pd.DataFrame({'q': ['Say hi', None], 'expected': ['hello', 'x']})")
    one_line(nb.run("%%eval --data df --expect expected --grader contains\n{q}"), "--data df", "row 1: {q} is")
    assert not offline.requests


def test_a_template_naming_a_notebook_variable_is_not_a_missing_column(nb, offline):
    nb.run(ROWS)
    nb.run("style = 'briefly'")
    ran = nb.run("%%eval --data rows --expect expected --grader contains -o ev\n{q}, {style}")
    sent = [chat.body["messages"][-1]["content"] for chat in chats(offline)]  # rows go concurrently: any order
    assert ran.error is None and any("Say hi, briefly" in content for content in sent)


def test_a_valid_schema_dict_and_a_pydantic_model_are_taken(nb, offline):
    nb.run(ROWS)
    nb.run("from pydantic import BaseModel\nclass Out(BaseModel):\n    x: int\n"
           "ok = {'type': 'object', 'properties': {'x': {'type': 'integer'}}}")
    for name in ("ok", "Out"):
        assert nb.run(f"%%eval --data rows --grader schema:{name}\n{{q}}").error is None


@pytest.mark.parametrize("kind", ["contains", "icontains"])
def test_contains_of_an_empty_expected_answer_fails_instead_of_passing(kind):
    from openai_magics.evals.graders import Grader, grade_locally

    for expected in ("", "   ", None):
        verdict = grade_locally(Grader(kind, kind), "any answer at all", expected)
        assert not verdict.passed and "no expected answer" in verdict.reason


def test_an_evals_run_whose_texts_echo_the_key_is_shown_without_it(nb, rogue, fast, session):
    from tests.faults.rogue import by_path, json_answer

    def run(seen, status="failed"):
        key = seen.authorization
        return json_answer({
            "id": "evalrun_1", "object": "eval.run", "eval_id": "eval_1", "status": status, "model": "gpt-4o-mini",
            "name": "gpt-4o-mini", "created_at": 1, "report_url": f"https://x.example/?auth={key}",
            "data_source": {"type": "completions", "source": {"type": "file_content", "content": []}},
            "error": {"code": "bad", "message": f"upstream said {key}"}, "metadata": None,
            "per_model_usage": [], "result_counts": {"total": 1, "passed": 0, "failed": 0, "errored": 1},
            "per_testing_criteria_results": [{"testing_criteria": f"contains {key}", "passed": 0, "failed": 1}]})

    nb.run(ROWS)
    nb.run(f"%openai endpoint {rogue.base_url} --key-env {ROGUE_KEY_ENV}")
    rogue.script(by_path({
        "/chat/completions": lambda seen: json_answer({
            "id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}),
        "/runs": run,
        "/evals": json_answer({"id": "eval_1", "object": "eval", "name": "rows", "created_at": 1,
                               "data_source_config": {"type": "custom", "schema": {}}, "testing_criteria": [],
                               "metadata": None})}))
    ran = nb.run("%%eval --data rows --expect expected --grader contains --to-openai -o ev\n{q}")
    assert ran.error is None, ran.error
    remote = nb.ns["ev"].remote
    assert remote.runs[0]["status"].startswith("failed (upstream said")
    no_key(ran.text, repr(remote), remote._repr_html_(), remote.runs)
