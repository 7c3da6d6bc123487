"""Client-side pacing: requests wait for room instead of meeting a 429, whatever the server reports."""
from concurrent.futures import ThreadPoolExecutor

import openai_magics
from openai_magics.wire.limits import Limits, parse_duration


def refusals(offline):
    return [r for r in offline.requests if r.status == 429]


def test_reset_durations_read_as_openai_writes_them():
    assert parse_duration("20ms") == 0.02 and parse_duration("1s") == 1 and parse_duration("6m0s") == 360
    assert parse_duration("1h2m3.5s") == 3723.5 and parse_duration("soon") is None and parse_duration("") is None


def test_embeddings_under_enforced_limits_meet_no_429(session, offline):
    offline.enforce_limits(requests=8, requests_per=0.1, tokens=20_000, tokens_per=0.2)
    result = openai_magics.embed([f"sentence number {i}" for i in range(3000)], concurrency=8)
    assert result.vectors.shape[0] == 3000
    assert refusals(offline) == [] and len(offline.requests) > 3


def test_chat_calls_from_many_threads_meet_no_429(session, offline):
    offline.enforce_limits(requests=5, requests_per=0.1)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: openai_magics.chat(f"question {i}", stream=False), range(40)))
    assert len(answers) == 40 and refusals(offline) == []


def test_room_reserved_before_a_request_starts_is_used_by_it_and_not_taken_twice(session, offline):
    offline.enforce_limits(requests=2, requests_per=10.0)
    model = "text-embedding-3-small"
    session.client.embeddings.create(model=model, input="to hear the limits")  # room for one more left
    limits = session.http.limits
    room = limits.reserve(model, 10)
    assert room is not None and limits.reserve(model, 10) is None  # that one is taken
    with room:
        session.client.embeddings.create(model=model, input="sent on the room reserved")
    assert limits.pace(model).waited == 0 and refusals(offline) == []  # not paced again, not refused


def test_a_server_without_headers_is_paced_by_its_429s(session, offline):
    """A compatible server that sends no rate-limit headers: after a 429 the rate is learnt and halved."""
    limits = Limits()
    pace = limits.pace("m")

    class Sent:
        def __init__(self, status, headers):
            self.status_code, self.headers = status, headers

    pace.acquire(10)
    pace.observe({}, 200)
    assert pace.headerless and pace.learnt_rate is None
    for _ in range(9):
        pace.acquire(10)
    pace.observe({"retry-after-ms": "50"}, 429)
    assert pace.refusals == 1 and pace.learnt_rate is not None and pace.learnt_rate <= 2.5
