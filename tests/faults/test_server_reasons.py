"""Error lines say what the server said (issue 27): a stream that ends on an error with its usage is recorded and
quoted, a 429 names Retry-After only when the server sent one."""
from __future__ import annotations

from tests.faults.checks import one_line

OPENROUTER_USAGE = {"prompt_tokens": 43, "completion_tokens": 10, "total_tokens": 53}


def test_a_stream_ending_on_an_error_with_usage_records_it_and_quotes_the_reason(nb, session, offline):
    offline.stream_error("Token limit reached", usage=OPENROUTER_USAGE)
    ran = nb.run("%chat --max-tokens 10 Write a long story about a lighthouse.")
    assert ran.error is None and ran.result.text  # what arrived is kept
    assert ran.result.incomplete == "the server stopped it at the cell's token limit (10): “Token limit reached”"
    assert "Token limit reached" in ran.outputs[-1]["text/markdown"]
    assert "Try again" not in ran.text
    (record,) = session.ledger.records
    assert (record.usage.input_tokens, record.usage.output_tokens) == (43, 10)
    assert not record.estimated and record.cost > 0


def test_a_stream_that_errs_before_any_text_is_one_line_and_its_usage_recorded(nb, session, offline):
    offline.stream_error("Token limit reached", usage=OPENROUTER_USAGE)
    line = one_line(nb.run("%chat -m o4-mini --max-tokens 10 Think about it."),
                    "token limit (10)", "“Token limit reached”", "nothing arrived")
    assert "Try again" not in line
    (record,) = session.ledger.records
    assert (record.usage.input_tokens, record.usage.output_tokens) == (43, 10) and not record.estimated


def test_a_stream_error_not_caused_by_the_token_limit_quotes_the_server(nb, session, offline):
    offline.stream_error("Upstream provider returned 502")
    ran = nb.run("%chat Write a haiku.")
    assert ran.result.incomplete == "the server ended the stream with an error: “Upstream provider returned 502”"
    (record,) = session.ledger.records
    assert record.usage.output_tokens > 0 and not record.estimated  # the stream's own usage, as reported


RPM = "Rate limit reached for gpt-4o-mini in organization org-x on requests per min (RPM): Limit 3, Used 3."


def test_a_429_with_retry_after_says_it_was_honoured_and_quotes_the_server(nb, session, offline):
    session.configure(max_retries=1)
    offline.fail(429, retry_after=0.01, times=5, message=RPM)
    line = one_line(nb.run("%chat hi"), "Still rate limited (429) after honouring Retry-After (retried 1 time",
                    "Limit 3, Used 3.")
    assert len(session.ledger) == 0 and line


def test_a_429_without_retry_after_does_not_claim_one(nb, session, offline):
    session.configure(max_retries=1)
    offline.fail(429, times=5, message=RPM)
    line = one_line(nb.run("%chat hi"), "Still rate limited (429) (retried 1 time", "Limit 3, Used 3.")
    assert "Retry-After" not in line


def test_a_429_not_retried_is_not_still_rate_limited(nb, session, offline):
    session.configure(max_retries=0)
    offline.fail(429, message=RPM)
    line = one_line(nb.run("%chat hi"), "Rate limited (429): Rate limit reached for gpt-4o-mini")
    assert "Still" not in line and "Retry-After" not in line


FAILED_WITH_USAGE = {"type": "response.failed", "sequence_number": 1, "response": {
    "id": "resp_x", "object": "response", "created_at": 1, "model": "gpt-4o-mini-2024-07-18", "status": "failed",
    "output": [], "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
    "usage": {"input_tokens": 43, "output_tokens": 10, "total_tokens": 53,
              "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
    "error": {"code": "server_error", "message": "Token limit reached"}}}


def test_a_failed_response_that_reports_usage_records_it(nb, rogue, fast, session):
    import json

    from tests.faults.rogue import Answer, json_answer

    nb.run(f"%openai endpoint {rogue.base_url} --bills openai")
    rogue.script(Answer(events=[json.dumps(FAILED_WITH_USAGE).encode()]))
    one_line(nb.run("%chat --api responses hi"), "Token limit reached")
    rogue.script(json_answer(FAILED_WITH_USAGE["response"]))
    one_line(nb.run("%chat --api responses --no-stream hi"), "Token limit reached")
    assert [(r.usage.input_tokens, r.usage.output_tokens) for r in session.ledger.records] == [(43, 10), (43, 10)]
    assert all(not r.estimated and r.cost > 0 for r in session.ledger.records)
