"""A batch's files as a broken server writes them: every billed answer is in the ledger, rows without a line are
named as missing, a failed batch says why, and a malformed list is not shown as batches."""
from __future__ import annotations

import pytest

from openai_magics.batch.store import Submitted
from openai_magics.views.row_results import RowError
from tests.faults.checks import one_line
from tests.faults.rogue import Answer, batch_line, batch_object, by_path, json_answer


@pytest.fixture(autouse=True)
def batch_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_MAGICS_BATCH_DIR", str(tmp_path / "batches"))


@pytest.fixture
def sent(batch_dir):
    """The batch as this machine submitted it: three rows, request-0..2."""
    Submitted("batch_rogue1", "/v1/chat/completions", "gpt-4o-mini", ["request-0", "request-1", "request-2"],
              name="items", labels=[0, 1, 2], template="Say {item}").save()


def serve(rogue, *lines: str, **batch) -> None:
    rogue.script(by_path({
        "/files/file-out/content": Answer(body="\n".join(lines).encode(), content_type="application/octet-stream"),
        "/batches/batch_rogue1": json_answer(batch_object(**batch))}))


def results(nb, rogue):
    nb.run(f"%openai endpoint {rogue.base_url}")
    return nb.run("%openai batch results batch_rogue1")


def test_answers_to_custom_ids_never_sent_are_recorded_and_said(nb, rogue, fast, session, sent):
    serve(rogue, batch_line("request-0"), batch_line("request-1"), batch_line("request-2"),
          batch_line("someone-elses-7"), batch_line("someone-elses-8"), counts=(5, 5, 0))
    ran = results(nb, rogue)
    assert ran.error is None and ran.result.values == ["Hello."] * 3
    assert len(session.ledger.records) == 5 and all(r.batch for r in session.ledger.records)
    assert "2 answers to requests not sent from here (unknown custom_id), recorded in the ledger" in ran.text


def test_a_line_that_is_not_json_loses_none_of_the_other_answers(nb, rogue, fast, session, sent):
    serve(rogue, batch_line("request-0"), '{"custom_id": "request-1", "resp', batch_line("request-2"),
          counts=(3, 3, 0))
    ran = results(nb, rogue)
    assert ran.error is None and ran.result.values[0] == ran.result.values[2] == "Hello."
    assert len(session.ledger.records) == 2
    assert "1 line of the batch's files not readable (skipped)" in ran.text
    assert "missing from the completed batch's output" in ran.result.values[1].message


def test_a_paid_line_whose_answer_cannot_be_read_is_recorded_and_marked_unreadable(nb, rogue, fast, session, sent):
    shapeless = batch_line("request-1").replace('"choices": [', '"not_choices": [')
    serve(rogue, batch_line("request-0"), shapeless, batch_line("request-2"), counts=(3, 3, 0))
    ran = results(nb, rogue)
    assert "not in a shape this client reads" in ran.result.values[1].message
    assert [r.unreadable for r in session.ledger.records] == [False, True, False]


def test_a_row_missing_from_a_completed_batch_is_named_missing_not_cancelled(nb, rogue, fast, session, sent):
    serve(rogue, batch_line("request-0"), batch_line("request-2"), counts=(3, 2, 0))
    ran = results(nb, rogue)
    missing = ran.result.values[1]
    assert isinstance(missing, RowError) and "missing from the completed batch's output and error files" in \
        missing.message and "cancelled" not in missing.message
    assert len(session.ledger.records) == 2


@pytest.mark.parametrize("status", ["cancelled", "expired"])
def test_a_row_a_cancelled_or_expired_batch_never_ran_says_how_it_ended(nb, rogue, fast, sent, status):
    serve(rogue, batch_line("request-0"), status=status, counts=(3, 1, 0))
    ran = results(nb, rogue)
    assert f"the batch ended ({status}) before this request ran" in ran.result.values[2].message


def test_a_batch_that_failed_with_errors_data_says_why_in_one_line(nb, rogue, fast, session, sent):
    rogue.script(by_path({"/batches/batch_rogue1": json_answer(batch_object(
        status="failed", output=None, counts=(0, 0, 0),
        errors=[{"code": "invalid_request", "line": 1, "message": "Model 'gpt-x' is not supported."},
                {"code": "invalid_request", "line": 2, "message": "Model 'gpt-x' is not supported."}]))}))
    line = one_line(results(nb, rogue), "batch_rogue1 failed", "line 1: Model 'gpt-x' is not supported")
    assert "line 2" in line and not session.ledger.records


def test_a_batch_that_failed_without_a_reason_says_the_server_gave_none(nb, rogue, fast, sent):
    rogue.script(by_path({"/batches/batch_rogue1": json_answer(batch_object(status="failed", output=None,
                                                                            counts=(0, 0, 0)))}))
    one_line(results(nb, rogue), "failed", "the server gave no reason")


MALFORMED = {
    "no-status": {"id": "batch_5", "object": "batch"},
    "null-status": {"id": "batch_5", "status": None, "request_counts": None},
    "unknown-status": {"id": "batch_5", "status": "weird"},
    "no-id": {"status": "completed"},
    "numeric-id": {"id": 5, "status": "completed"},
}


@pytest.mark.parametrize("entry", list(MALFORMED))
def test_a_malformed_batch_list_leaves_out_what_is_not_a_batch(nb, rogue, fast, entry):
    good = batch_object("batch_good", counts=(4, 3, 1))
    rogue.script(json_answer({"object": "list", "data": [good, MALFORMED[entry]], "has_more": False}))
    nb.run(f"%openai endpoint {rogue.base_url}")
    ran = nb.run("%openai batch list")
    assert ran.error is None and "None" not in ran.text
    assert "batch batch_good · completed · 3/4 done · 1 failed" in ran.text
    assert "1 entry of the server's list not a batch" in ran.text


@pytest.mark.parametrize("entry", list(MALFORMED))
def test_a_malformed_batch_status_is_one_line(nb, rogue, fast, entry):
    rogue.script(json_answer(MALFORMED[entry]))
    nb.run(f"%openai endpoint {rogue.base_url}")
    one_line(nb.run("%openai batch status batch_5"), "not one")


def test_request_counts_that_are_not_numbers_show_as_zero(nb, rogue, fast):
    rogue.script(json_answer(batch_object(status="in_progress", counts=("many", -3, None))))
    nb.run(f"%openai endpoint {rogue.base_url}")
    ran = nb.run("%openai batch status batch_rogue1")
    assert ran.error is None and "in_progress · 0/0 done" in ran.text
