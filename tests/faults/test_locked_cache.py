"""A cache file another process holds: the cell answers without it and says the cache was skipped, once; the
cells after it do not wait for it again."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest


@contextmanager
def held_by_another_process(path, how: str = "EXCLUSIVE"):
    other = sqlite3.connect(path, isolation_level=None)  # another kernel, holding the file's write lock
    other.execute(f"BEGIN {how}")
    other.execute("INSERT INTO responses VALUES ('x', 'chat', 'm', '{}', 0)")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.fixture
def cached(nb, tmp_path):
    path = tmp_path / "c.sqlite"
    assert nb.run(f"%openai cache on {path}").error is None
    yield path
    nb.run("%openai cache off")


CELLS = {"chat": "%chat --no-stream -t 0 hi {n}", "chat-stream": "%chat -t 0 hi {n}",
         "responses": "%chat --api responses -t 0 hi {n}", "embed": "%embed text {n}",
         "over": "%%chat --over rows -t 0 -o out\nSay {{item}} {n}"}


@pytest.mark.parametrize("how", ["EXCLUSIVE", "IMMEDIATE"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_a_locked_cache_file_answers_and_says_the_cache_was_skipped_once(nb, session, offline, cached, cell, how):
    nb.ns["rows"] = ["a", "b", "c"]
    with held_by_another_process(cached, how):
        first = nb.run(CELLS[cell].format(n=1))
        second = nb.run(CELLS[cell].format(n=2))
    assert first.error is None and second.error is None
    assert "the cache is skipped for the next 60 s" in first.stderr and "Traceback" not in first.stderr
    assert second.stderr.strip() == ""  # neither waited for (no "Waiting…") nor said again
    assert len(session.ledger.records) == (6 if cell == "over" else 2) and all(r.cost > 0 for r in
                                                                               session.ledger.records)


def test_after_the_lock_is_gone_and_the_minute_is_over_the_cache_is_used_again(nb, session, offline, cached):
    with held_by_another_process(cached):
        nb.run("%chat --no-stream -t 0 hello")
    session.cache._skip_until = 0  # the minute has passed
    nb.run("%chat --no-stream -t 0 hello")
    again = nb.run("%chat --no-stream -t 0 hello")
    assert again.error is None and again.result.record.cache_hit


def test_a_locked_replay_file_sends_nothing(nb, session, offline, tmp_path):
    path = tmp_path / "r.sqlite"
    nb.run(f"%openai cache on {path}")
    nb.run("%chat --no-stream -t 0 kept")
    nb.run("%openai cache off")  # back to one file, in rollback mode: a writer there blocks readers
    nb.run(f"%openai replay {path}")
    try:
        with held_by_another_process(path):
            ran = nb.run("%chat --no-stream -t 0 kept")
    finally:
        nb.run("%openai replay off")
    assert ran.error is not None and "could not be read" in str(ran.error) and "nothing was sent" in str(ran.error)
    assert len([r for r in offline.requests if "chat" in r.path]) == 1
