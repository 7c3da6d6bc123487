"""Nothing hangs without a word: silent servers, stalled streams, locked cache files, interrupts."""
from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from contextlib import contextmanager

import pytest

from tests.faults.checks import no_key, one_line
from tests.faults.rogue import Answer, chunk, completion, json_answer

# A hang fails here rather than stalling the suite; no test times a cell itself (a busy machine stretches
# every clock): each asserts the phase, the message and what the server saw.
pytestmark = pytest.mark.timeout(120)

SILENT_LINES = {
    "stream": "%chat hi",
    "no-stream": "%chat --no-stream hi",
    "responses": "%chat --api responses hi",
    "json": "%chat --json answer in JSON",
    "tools": "%chat --tools add what is 2+3",
    "embed": "%embed one",
    "models": "%openai models",
}


def _add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@contextmanager
def interrupt_when(ready, settle: float, then=None):
    """Presses stop (a real SIGINT to this process) once `ready()` holds (or after 30 s), after `then()` and
    `settle` seconds more, while the `with` body runs the cell. That the cell returned at once shows in what
    the server saw (the client left the requests in flight: 499), never in a clock, which a busy machine
    stretches."""
    def press():
        deadline = time.monotonic() + 30
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.005)
        if then is not None:
            then()
        time.sleep(settle)
        os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press)
    presser.start()
    try:
        yield
    finally:
        presser.join()


def at(nb, rogue) -> None:
    nb.ns["add"] = _add
    nb.run(f"%openai endpoint {rogue.base_url}")


@pytest.mark.parametrize("line", list(SILENT_LINES.values()), ids=list(SILENT_LINES))
def test_a_server_that_takes_the_request_and_never_answers_fails_fast_in_one_line(nb, rogue, fast, line):
    at(nb, rogue)
    rogue.script(Answer(stall_before=True))
    ran = nb.run(line)
    knob = "generation_timeout" if "--no-stream" in line else "first_byte_timeout"  # the wait for that work
    one_line(ran, f"Connected to {rogue.base_url}, but no answer started within 0.5 s", "not retried",
             f"`%config OpenAIMagics.{knob} = ")
    assert len(rogue.seen) == 1  # one attempt: the wait is not multiplied by retries


@pytest.fixture
def config(nb):
    """Set `%config OpenAIMagics.NAME = value` as a user would; the shell forgets them afterwards."""
    names = []

    def set_(**values):
        for name, value in values.items():
            names.append(name)
            ran = nb.run(f"%config OpenAIMagics.{name} = {value!r}")
            assert ran.error is None and not ran.stderr, ran.stderr

    yield set_
    for name in names:
        nb.run(f"%config OpenAIMagics.{name} = None")


def test_a_stream_that_goes_silent_after_some_text_keeps_it(nb, rogue, fast, session, config):
    at(nb, rogue)
    config(idle_timeout=0.4)
    rogue.script(Answer(events=[chunk("Half an "), chunk("answer"), chunk(" never")], stall_after=2))
    ran = nb.run("%chat -o part hi")
    part = nb.ns["part"]
    assert ran.error is None and part.text == "Half an answer" and part.incomplete and "Half an answer" in ran.stdout
    notes = [line for line in ran.stdout.splitlines() if "Incomplete answer" in line]
    assert len(notes) == 1, ran.stdout  # one line: the phase, what arrived, what is kept, the setting to raise
    assert "the stream went silent for 0.4 s after 3 tokens" in notes[0], notes[0]
    assert "the partial answer is kept and recorded" in notes[0]
    assert "`%config OpenAIMagics.idle_timeout = " in notes[0]
    [record] = session.ledger.records  # charged once, as counted, and said so
    assert record.estimated and record.usage.output_tokens == 3
    assert len(rogue.seen) == 1
    no_key(ran.text)


def test_a_server_that_does_not_take_the_connection_names_the_connect_timeout(nb, fast, config):
    import socket

    config(connect_timeout=0.3)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        url = "http://127.0.0.1:%d/v1" % server.getsockname()[1]
        queued = [socket.socket() for _ in range(4)]  # the accept queue is full: a new connection waits
        for waiting in queued:
            waiting.setblocking(False)
            waiting.connect_ex(server.getsockname())
        nb.run(f"%openai endpoint {url}")
        ran = nb.run("%chat hi")
        for waiting in queued:
            waiting.close()
    one_line(ran, f"Could not connect to {url} within 0.3 s (retried 1 time", "OpenAIMagics.connect_timeout = ")


def test_a_non_streamed_answer_may_take_longer_than_a_stream_may_stay_silent(nb, session, offline, config):
    config(first_byte_timeout=0.3, idle_timeout=0.3, generation_timeout=1.5)
    offline.latency = 0.6  # the whole answer is written before its first byte
    whole = nb.run("%chat --no-stream hi")
    assert whole.error is None and whole.result.text and len(session.ledger) == 1
    assert len(offline.requests) == 1  # waited for, not timed out and asked again
    streamed = nb.run("%chat hi")  # a stream that says nothing for as long is a silent server
    one_line(streamed, "no answer started within 0.3 s", "`%config OpenAIMagics.first_byte_timeout = ")
    assert len(session.ledger) == 1


def test_a_non_streamed_generation_that_never_starts_names_its_own_setting(nb, rogue, config):
    at(nb, rogue)
    config(generation_timeout=0.4, max_retries=3)
    rogue.script(Answer(stall_before=True))
    line = one_line(nb.run("%%image -m dall-e-3\nA fox in the snow"), "no answer started within 0.4 s",
                    "not retried", "`%config OpenAIMagics.generation_timeout = ")
    assert "written whole" in line and len(rogue.seen) == 1


def test_a_stream_that_goes_silent_before_any_text_is_one_line(nb, rogue, fast):
    at(nb, rogue)
    rogue.script(Answer(events=[chunk(""), chunk("late")], stall_after=1))
    one_line(nb.run("%chat hi"))


def test_nothing_listening_says_could_not_reach_with_the_retries_it_made(nb, fast):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    nb.run(f"%openai endpoint http://127.0.0.1:{port}/v1")
    one_line(nb.run("%chat --no-stream hi"), "Could not reach", "retried 1 time")


def test_retries_are_counted_as_made(nb, session, offline):
    session.configure(max_retries=4)
    offline.fail(500, times=10, retry_after=0.01)
    line = one_line(nb.run("%chat --no-stream hi"))
    assert "retried 4 times" in line and len(offline.requests) == 5


def test_a_locked_cache_file_says_what_it_waits_for_then_keeps_the_answer(nb, session, offline, tmp_path):
    path = tmp_path / "c.sqlite"
    nb.run(f"%openai cache on {path}")
    session.cache.lock_wait = 0.6
    other = sqlite3.connect(path, isolation_level=None)  # another kernel, writing
    other.execute("BEGIN IMMEDIATE")
    try:
        ran = nb.run("%chat --no-stream -t 0 hi")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert ran.error is None and ran.result.text  # the paid answer is kept
    assert "Waiting for the cache file" in ran.stderr and "Not cached" in ran.stderr
    assert len(session.ledger) == 1
    nb.run("%openai cache off")


def test_an_interrupt_during_a_20000_text_embed_returns_at_once_keeping_what_finished(nb, session, offline):
    from openai_magics.cache.keys import endpoint_of
    from openai_magics.embed.engine import VectorCaches

    texts = [f"sentence number {i}" for i in range(20_000)]
    vectors = session.part(VectorCaches).at(endpoint_of(session))

    # Once the first request's vectors are in, and a slow request is in flight.
    with interrupt_when(lambda: len(vectors), settle=0.3, then=lambda: _slow_from_now(offline)):
        ran = nb.run("%%embed --concurrency 2\n" + "\n".join(texts))
    assert isinstance(ran.error, KeyboardInterrupt) and "Interrupted" in ran.stdout
    assert "Traceback" not in ran.stdout
    assert len(vectors) >= 256 and len(session.ledger) >= 1  # what finished (a whole request) is kept
    # The requests in flight were stopped on the wire: the server saw their client leave and answered none
    # after the cell returned; the ledger holds exactly the answered ones, and no worker runs on.
    statuses = _settled(offline)
    assert 499 in statuses and set(statuses) <= {200, 499}, statuses
    assert len(session.ledger) == statuses.count(200)
    for worker in [t for t in threading.enumerate() if t.name.startswith("openai-magics-embed")]:
        worker.join(0.5)
        assert not worker.is_alive()
    time.sleep(0.2)
    assert [r.status for r in offline.requests] == statuses and len(session.ledger) == statuses.count(200)
    offline.latency = 0


def test_an_interrupt_during_over_stops_the_rows_in_flight_on_the_wire(nb, session, offline):
    nb.ns["items"] = [f"item {i}" for i in range(200)]

    with interrupt_when(lambda: _answered(offline) >= 4, settle=0.3, then=lambda: _slow_from_now(offline)):
        ran = nb.run("%%chat --over items -o answers --concurrency 4\nRepeat exactly: {item}")
    assert "Traceback" not in ran.text
    statuses = _settled(offline)
    assert 499 in statuses and set(statuses) <= {200, 499}, statuses
    assert len(session.ledger) == statuses.count(200)  # every answer that arrived, and only those
    answers = nb.ns["answers"]
    assert sum(isinstance(a, str) for a in answers) == statuses.count(200)
    offline.latency = 0


def test_an_interrupt_during_compare_stops_every_stream_keeping_what_arrived(nb, session, offline):
    offline.chunk_delay = 0.1  # two answers streaming slowly, side by side

    # Both streams started, and a few chunks of each have arrived.
    with interrupt_when(lambda: _answered(offline) >= 2, settle=0.5):
        ran = nb.run("%%chat --compare gpt-4o-mini,gpt-4o\nExplain a p-value at length")
    assert isinstance(ran.error, KeyboardInterrupt) and "Traceback" not in ran.text
    records = session.ledger.records  # each stream's partial answer is recorded, as interrupted
    assert sorted(r.model.split("-20")[0] for r in records) == ["gpt-4o", "gpt-4o-mini"], records
    assert all(r.interrupted and r.usage.output_tokens > 0 for r in records)
    for worker in [t for t in threading.enumerate() if t.name.startswith("openai-magics-compare")]:
        worker.join(0.5)
        assert not worker.is_alive()  # nothing streams on after the cell returned
    offline.chunk_delay = 0


def _slow_from_now(offline) -> None:
    """Every request from now on takes 5 s; returns once one of them is in flight, so that an interrupt finds
    it there however slowly a busy machine sent it (those already answered were quick)."""
    offline.latency = 5.0
    before = len(offline.requests)
    deadline = time.monotonic() + 30
    while not any(r.status == 0 for r in offline.requests[before:]) and time.monotonic() < deadline:
        time.sleep(0.005)


def _answered(offline) -> int:
    return sum(r.status == 200 for r in offline.requests)


def _settled(offline, within: float = 30) -> list[int]:
    """Every logged request's status, once each has one (0: the server is still on it)."""
    deadline = time.monotonic() + within
    while any(r.status == 0 for r in offline.requests) and time.monotonic() < deadline:
        time.sleep(0.01)
    return [r.status for r in offline.requests]
