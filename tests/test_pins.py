"""Pinned model versions (issue 27): the ledger names the snapshot that answered; `%openai pin on` sends the
snapshot an alias first answered as in this notebook (kept in the cache or replay file); a cell answered by
another snapshot than before says so in one line."""
from conftest import TEST_CHAT_MODEL, TEST_KEY

FIRST, NEWER = "gpt-4o-mini-2024-07-18", "gpt-4o-mini-2026-01-15"


def sent_models(offline):
    return [r.body["model"] for r in offline.requests if r.path.endswith("/chat/completions")]


def notes(ran) -> list[str]:
    return [line for line in ran.outputs[-1]["text/markdown"].splitlines() if "now answers as" in line]


def test_the_ledger_records_the_snapshot_that_answered(nb, session):
    ran = nb.run("%chat hi")
    assert session.ledger.records[-1].model == FIRST and ran.result.requested_model == "gpt-4o-mini"


def test_a_changed_snapshot_is_said_in_one_line(nb, offline):
    nb.run("%chat hi")
    offline.move_alias("gpt-4o-mini", NEWER)
    ran = nb.run("%chat hi again")
    assert ran.result.model == NEWER
    (line,) = notes(ran)
    assert f"gpt-4o-mini now answers as {NEWER}, not {FIRST} as it first did in this notebook" in line
    assert "`%openai pin on` sends" in line
    assert notes(nb.run("%chat and again")) == [line]  # still not the notebook's first: said every time


def test_pin_on_sends_the_first_snapshot_after_the_alias_moved(nb, session, offline):
    nb.run("%chat hi")
    ran = nb.run("%openai pin on")
    assert "pin: on" in ran.stdout and f"gpt-4o-mini → {FIRST}" in ran.stdout
    offline.move_alias("gpt-4o-mini", NEWER)
    ran = nb.run("%chat hi again")
    assert sent_models(offline)[-1] == FIRST and ran.result.model == FIRST and notes(ran) == []
    assert ran.result.requested_model == "gpt-4o-mini" and session.ledger.records[-1].model == FIRST
    assert "pin: off" in nb.run("%openai pin off").stdout
    nb.run("%chat and again")
    assert sent_models(offline)[-1] == "gpt-4o-mini"


def test_pin_without_answers_yet_says_the_first_will_be_pinned(nb, offline):
    ran = nb.run("%openai pin on")
    assert "no alias has answered yet" in ran.stdout
    nb.run("%chat hi")
    assert sent_models(offline) == ["gpt-4o-mini"]  # nothing seen yet: sent as written, its answer pinned
    assert f"gpt-4o-mini → {FIRST}" in nb.run("%openai pin").stdout


def _fresh_session(offline):
    from openai_magics.core.config import Secret
    from openai_magics.core.session import reset_session

    s = reset_session()
    s.configure(base_url=offline.base_url, api_key=Secret(TEST_KEY, "OPENAI_API_KEY"), bills="openai")
    s.config.models["chat"] = TEST_CHAT_MODEL
    return s


def test_pins_are_kept_in_the_cache_file_for_a_re_run(nb, offline, tmp_path):
    path = tmp_path / "answers.sqlite"
    nb.run(f"%openai cache on {path}")
    nb.run("%chat hi")
    nb.run("%openai cache off")
    _fresh_session(offline)  # a restarted kernel, the alias moved meanwhile
    offline.move_alias("gpt-4o-mini", NEWER)
    nb.run(f"%openai cache on {path}")
    ran = nb.run("%openai pin on")
    assert f"gpt-4o-mini → {FIRST}" in ran.stdout and f"kept in {path}" in ran.stdout
    nb.run("%chat --no-cache something new")
    assert sent_models(offline)[-1] == FIRST


def test_a_replayed_notebook_with_pins_answers_from_its_file(nb, offline, tmp_path):
    path = tmp_path / "answers.sqlite"
    nb.run(f"%openai cache on {path}")
    nb.run("%openai pin on")
    first = nb.run("%chat hi").result.text  # sent as the alias; its answer pinned
    nb.run("%chat hi again")                 # sent as the pinned snapshot
    assert sent_models(offline) == ["gpt-4o-mini", FIRST]
    nb.run("%openai cache off")
    _fresh_session(offline)
    offline.clear_log()
    nb.run(f"%openai replay {path}")
    nb.run("%openai pin on")
    for cell in ("%chat hi", "%chat hi again"):
        ran = nb.run(cell)
        assert ran.error is None and ran.result.record.cache_hit and ran.result.model == FIRST
    assert ran.result.text and first and offline.requests == []


def test_a_cached_answer_from_an_older_snapshot_says_so(nb, offline, tmp_path):
    nb.run(f"%openai cache on {tmp_path / 'answers.sqlite'}")
    nb.run("%chat hi")
    offline.move_alias("gpt-4o-mini", NEWER)
    nb.run("%chat --no-cache something else")  # a live answer: the alias now resolves to the newer snapshot
    ran = nb.run("%chat hi")
    assert ran.result.record.cache_hit
    (line,) = [n for n in ran.outputs[-1]["text/markdown"].splitlines() if "cached answer came from" in n]
    assert f"This cached answer came from {FIRST}; gpt-4o-mini now answers as {NEWER}" in line
