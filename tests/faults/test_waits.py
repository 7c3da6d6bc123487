"""Nothing waits longer than a bounded, stated time for a server's Retry-After or rate-limit headers (longer is one
line naming the wait, sent nothing), and no header value can divide by zero."""
from __future__ import annotations

import pytest

from tests.faults.checks import one_line
from tests.faults.rogue import completion, json_answer


def refusal(retry_after: dict) -> object:
    return json_answer({"error": {"message": "Rate limit reached for requests", "type": "requests",
                                  "code": "rate_limit_exceeded"}}, 429, headers=retry_after)


LONG = {"retry-after-3600": {"Retry-After": "3600"}, "retry-after-ms": {"retry-after-ms": "7200000"},
        "retry-after-a-day": {"Retry-After": "86400"}}


@pytest.mark.parametrize("header", list(LONG))
@pytest.mark.parametrize("line", ["%chat --no-stream hi", "%chat hi", "%embed hi", "%chat --api responses hi"],
                         ids=["no-stream", "stream", "embed", "responses"])
def test_a_retry_after_of_an_hour_is_one_line_naming_the_wait_and_the_next_cell_waits_for_nothing(
        nb, rogue, fast, session, header, line):
    nb.run(f"%openai endpoint {rogue.base_url}")
    rogue.script(refusal(LONG[header]))
    first = nb.run(line)
    assert first.error is not None and not isinstance(first.error, KeyboardInterrupt)
    sent = len(rogue.seen)
    again = one_line(nb.run(line), "a wait of", "at most 60 s", "nothing was sent")
    assert "Interrupted" not in again and len(rogue.seen) == sent  # the next cell sent nothing, waited for nothing
    seconds = {"retry-after-3600": "3,600 s", "retry-after-ms": "7,200 s", "retry-after-a-day": "86,400 s"}[header]
    assert seconds in again


def test_a_short_retry_after_is_waited_and_the_answer_comes(nb, rogue, session):
    session.configure(max_retries=2)  # the usual waits: a busy machine's late first byte is not what is tested
    nb.run(f"%openai endpoint {rogue.base_url}")
    rogue.script(refusal({"Retry-After": "0.2"}), json_answer(completion()))
    ran = nb.run("%chat --no-stream hi")
    assert ran.error is None and ran.result.text == "Hello." and len(rogue.seen) == 2


ZEROS = {
    "all-zero": {"x-ratelimit-limit-requests": "0", "x-ratelimit-remaining-requests": "0",
                 "x-ratelimit-limit-tokens": "0", "x-ratelimit-remaining-tokens": "0",
                 "x-ratelimit-reset-requests": "0s", "x-ratelimit-reset-tokens": "0s"},
    "limit-requests-zero": {"x-ratelimit-limit-requests": "0", "x-ratelimit-remaining-requests": "0",
                            "x-ratelimit-limit-tokens": "10000", "x-ratelimit-remaining-tokens": "9000"},
    "limit-tokens-zero": {"x-ratelimit-limit-requests": "100", "x-ratelimit-remaining-requests": "99",
                          "x-ratelimit-limit-tokens": "0", "x-ratelimit-remaining-tokens": "0"},
    "remaining-zero-reset-zero": {"x-ratelimit-limit-requests": "1000", "x-ratelimit-remaining-requests": "0",
                                  "x-ratelimit-limit-tokens": "100000", "x-ratelimit-remaining-tokens": "0",
                                  "x-ratelimit-reset-requests": "0s", "x-ratelimit-reset-tokens": "0ms"},
    "reset-garbage": {"x-ratelimit-limit-requests": "1000", "x-ratelimit-remaining-requests": "999",
                      "x-ratelimit-limit-tokens": "100000", "x-ratelimit-remaining-tokens": "99000",
                      "x-ratelimit-reset-requests": "soon", "x-ratelimit-reset-tokens": "-5s"},
    "negative": {"x-ratelimit-limit-requests": "-1", "x-ratelimit-remaining-requests": "-1",
                 "x-ratelimit-limit-tokens": "-1", "x-ratelimit-remaining-tokens": "-1"},
}


@pytest.mark.parametrize("headers", list(ZEROS))
def test_rate_limit_headers_of_zero_divide_nothing(nb, rogue, fast, session, headers):
    nb.run(f"%openai endpoint {rogue.base_url}")
    rogue.script(json_answer(completion(), headers=ZEROS[headers]))
    for _ in range(3):
        ran = nb.run("%chat --no-stream hi")
        assert ran.error is None and ran.result.text == "Hello.", ran.text
    assert len(rogue.seen) == 3
