"""The response cache and replay mode: re-running a notebook is free and offline-able."""
import html
import sqlite3
import subprocess
import sys
import textwrap
import time
from decimal import Decimal

import pytest

from conftest import ROOT, TEST_KEY

CELL = "%%chat --no-stream\nName three rivers of Europe."


def answer_of(ran) -> str:
    """The shown answer without its usage line (the one part that differs between a call and a hit)."""
    return ran.outputs[-1]["text/markdown"].rsplit("<sub", 1)[0]


def usage_of(ran) -> str:
    return html.unescape(ran.outputs[-1]["text/markdown"].rsplit("<sub", 1)[1])


@pytest.fixture
def cache_path(tmp_path):
    return tmp_path / "answers.sqlite"


@pytest.fixture
def cached(nb, cache_path):
    nb.run(f"%openai cache on {cache_path}")
    return nb


def test_second_run_is_a_hit_with_identical_output_and_no_cost(cached, offline, session):
    first = cached.run(CELL)
    second = cached.run(CELL)
    assert len(offline.requests) == 1  # the second run never reached the server
    assert answer_of(second) == answer_of(first) and second.result.text == first.result.text
    assert "$0 (cached)" in usage_of(second) and usage_of(second).rstrip("</sub>").endswith("cached")
    paid, hit = session.ledger.records
    assert hit.cache_hit and hit.cost == 0 and hit.saved == paid.cost > 0
    assert session.ledger.total_cost == paid.cost


def test_a_streamed_answer_is_cached_whole_and_replayed_through_the_same_view(cached, offline):
    first = cached.run("%%chat\nExplain streaming")
    again = cached.run("%%chat\nExplain streaming")
    quiet = cached.run("%%chat --no-stream\nExplain streaming")
    assert len(offline.requests) == 1
    assert "oaim-live-" in again.outputs[0]["text/html"]  # the live view shows the cached answer too
    assert answer_of(again) == answer_of(quiet) == answer_of(first)


def test_usage_shows_the_money_the_cache_saved(cached, session):
    cached.run(CELL)
    cached.run(CELL)
    cached.run(CELL)
    table = cached.run("%openai usage").outputs[-1]
    from openai_magics.metering.pricing import format_usd

    saved = session.ledger.total_saved
    assert saved == 2 * session.ledger.records[0].cost
    assert f"{format_usd(saved)} saved by the cache" in table["text/plain"]
    assert "hit (saved" in table["text/html"]
    stats = cached.run("%openai cache stats").stdout
    assert "2 hits, 1 miss" in stats and f"{format_usd(saved)} saved" in stats
    status = cached.run("%openai").stdout
    assert f"session:  3 calls, {format_usd(saved / 2)} spent, {format_usd(saved)} saved by the cache" in status


@pytest.mark.parametrize("change", [
    "-m gpt-4o", "-s 'Answer in French.'", "-t 0.7", "--max-tokens 300", "--stop END", "--seed 7",
    "--api responses", "--reasoning-effort low -m o4-mini",
])
def test_changing_an_answer_changing_parameter_misses(cached, offline, change):
    cached.run(CELL)
    cached.run(CELL.replace("--no-stream", f"--no-stream {change}"))
    assert len(offline.requests) == 2
    cached.run(CELL.replace("--no-stream", f"--no-stream {change}"))
    assert len(offline.requests) == 2  # and the changed request is itself cached


def test_a_different_prompt_or_conversation_misses(cached, offline):
    cached.run("%%chat --no-stream --thread t\nMy name is Ada.")
    cached.run("%%chat --no-stream --thread t\nWhat is my name?")
    cached.run("%%chat --no-stream\nWhat is my name?")  # same words, no history: another request
    assert len(offline.requests) == 3


def test_streaming_or_the_endpoint_spelling_is_not_part_of_the_key(cached, offline, session):
    from openai_magics.cache.keys import request_key

    cached.run(CELL)
    cached.run(CELL.replace(" --no-stream", ""))
    assert len(offline.requests) == 1
    params = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert request_key("offline", "chat", params) == request_key("offline", "chat", {**params, "stream": True})
    assert request_key("offline", "chat", params) != request_key("https://example.org/v1", "chat", params)
    assert request_key("offline", "chat", params) != request_key("offline", "responses", params)


def test_no_cache_bypasses_it(cached, offline):
    cached.run(CELL)
    ran = cached.run(CELL.replace("--no-stream", "--no-stream --no-cache"))
    assert len(offline.requests) == 2 and "cached" not in usage_of(ran)


def test_sampled_answers_are_cached_unless_turned_off(nb, offline, cache_path):
    nb.run(f"%openai cache on {cache_path}")
    nb.run("%chat --no-stream -t 1.2 Write a haiku")
    nb.run("%chat --no-stream -t 1.2 Write a haiku")
    assert len(offline.requests) == 1  # a re-run notebook stays stable
    assert "temperature 0 only" in nb.run(f"%openai cache on {cache_path} --no-sampled").stdout
    nb.run("%chat --no-stream -t 1.2 Write a haiku")
    nb.run("%chat --no-stream -t 0 Write a haiku")
    nb.run("%chat --no-stream -t 0 Write a haiku")
    assert len(offline.requests) == 3


def test_a_hit_is_not_refused_by_the_budget(cached, offline, session):
    cached.run(CELL)
    cached.run("%openai budget 0")
    assert cached.run(CELL).error is None
    refused = cached.run("%chat --no-stream Something new")
    assert "Refused before sending" in str(refused.error) and len(offline.requests) == 1


def test_replay_with_an_empty_cache_fails_with_one_clear_line_and_sends_nothing(nb, offline, session, cache_path):
    nb.run(f"%openai cache on {cache_path}")
    nb.run("%openai cache off")
    nb.run(f"%openai replay {cache_path}")
    ran = nb.run("%%chat\nExplain a p-value to a first-year student in three sentences.")
    assert "UsageError" in ran.stderr and "Traceback" not in ran.stderr
    line = ran.stderr.strip()
    assert len(line.splitlines()) == 1
    cell = nb.shell.execution_count - 1
    assert f"cell [{cell}]" in line and "gpt-4o-mini" in line and "“Explain a p-value to a first-year" in line
    assert str(cache_path) in line and "Nothing was sent" in line
    assert offline.requests == [] and len(session.ledger) == 0


def test_replay_answers_recorded_cells_and_names_the_cell_id_of_a_miss(nb, offline, cache_path):
    nb.run(f"%openai cache on {cache_path}")
    recorded = nb.run(CELL)
    nb.run(f"%openai replay {cache_path}")
    offline.clear_log()
    assert answer_of(nb.run(CELL)) == answer_of(recorded)
    missed = nb.run("%chat --no-stream hello", cell_id="c0ffee")
    assert "(id c0ffee)" in missed.stderr and "“hello”" in missed.stderr
    no_cache = nb.run(CELL.replace("--no-stream", "--no-stream --no-cache"))
    assert "--no-cache would go to the network" in no_cache.stderr
    assert offline.requests == []


def test_replay_needs_an_existing_file(nb, tmp_path):
    ran = nb.run(f"%openai replay {tmp_path / 'nowhere.sqlite'}")
    assert "UsageError" in ran.stderr and "No cache file at" in ran.stderr


def test_environment_variables_turn_cache_and_replay_on_for_headless_runs(monkeypatch, offline, cache_path):
    from openai_magics.core.config import Secret
    from openai_magics.core.session import reset_session

    monkeypatch.setenv("OPENAI_MAGICS_CACHE", str(cache_path))
    from openai_magics.cache.policy import current

    s = reset_session()
    assert current(s) is not None and not s.cache.replay and s.cache.path == cache_path
    s.configure(base_url=offline.base_url, api_key=Secret(TEST_KEY, "OPENAI_API_KEY"), bills="openai")
    from openai_magics.chat.engine import ChatRequest, run_chat

    run_chat(s, ChatRequest(prompt="hi", model="gpt-4o-mini", stream=False))
    monkeypatch.delenv("OPENAI_MAGICS_CACHE")
    monkeypatch.setenv("OPENAI_MAGICS_REPLAY", str(cache_path))
    s = reset_session()
    s.configure(base_url=offline.base_url, api_key=Secret(TEST_KEY, "OPENAI_API_KEY"), bills="openai")
    assert current(s).replay
    offline.clear_log()
    assert run_chat(s, ChatRequest(prompt="hi", model="gpt-4o-mini", stream=False)).record.cache_hit
    assert offline.requests == []


WRITER = textwrap.dedent("""
    import sys, time
    from openai_magics.cache.store import ResponseCache
    cache = ResponseCache(sys.argv[1])
    while time.time() < float(sys.argv[4]):  # both start writing at the same moment
        time.sleep(0.001)
    for i in range(int(sys.argv[3])):
        cache.put(f"{sys.argv[2]}-{i}", "chat", "m", {"text": f"answer {i}"})
        assert cache.get(f"{sys.argv[2]}-{i}") == {"text": f"answer {i}"}
    cache.close()
""")


def test_two_processes_writing_one_file_lose_nothing(cache_path):
    from openai_magics.cache.store import ResponseCache

    n, start = 2000, time.time() + 2
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(cache_path), name, str(n), str(start)], cwd=ROOT)
               for name in ("kernel-a", "kernel-b")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    cache = ResponseCache(cache_path)
    assert cache.stats().entries == {"chat": 2 * n}
    assert all(cache.get(f"kernel-{k}-{i}") == {"text": f"answer {i}"} for k in "ab" for i in range(n))
    cache.close()


def test_a_garbage_file_is_set_aside_with_a_warning_and_the_cache_starts_afresh(cached, nb, cache_path, offline):
    nb.run("%openai cache off")
    cache_path.write_bytes(b"this is not a database\n" * 200)
    ran = nb.run(f"%openai cache on {cache_path}")
    assert ran.error is None and "was damaged" in ran.stderr and "set aside" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert [p.name for p in cache_path.parent.glob("answers.sqlite.corrupt-*")]
    nb.run(CELL)
    assert "cached" in usage_of(nb.run(CELL)) and len(offline.requests) == 1


def test_a_damaged_database_is_recovered(tmp_path, capsys):
    from openai_magics.cache.store import ResponseCache

    path = tmp_path / "c.sqlite"
    cache = ResponseCache(path)
    for i in range(200):
        cache.put(f"k{i}", "chat", "m", {"text": "x" * 500})
    cache.close()
    data = bytearray(path.read_bytes())
    data[4096 * 3:4096 * 6] = b"\xff" * (4096 * 3)  # scribble over pages in the middle
    path.write_bytes(bytes(data))
    cache = ResponseCache(path)
    assert "was damaged (database disk image is malformed)" in capsys.readouterr().err
    assert cache.get("k1") is None
    cache.put("k1", "chat", "m", {"text": "fresh"})
    assert cache.get("k1") == {"text": "fresh"}
    cache.close()


def test_when_one_kernel_sets_a_damaged_file_aside_the_other_follows_it_to_the_fresh_one(tmp_path, capsys):
    from openai_magics.cache.store import ResponseCache

    path = tmp_path / "shared.sqlite"
    first = ResponseCache(path)  # two connections stand for two kernels
    for i in range(200):
        first.put(f"k{i}", "chat", "m", {"text": "x" * 500})
    first._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[4096 * 2:4096 * 30] = b"\xff" * (4096 * 28)
    path.write_bytes(bytes(data))
    second = ResponseCache(path)
    assert "set aside" in capsys.readouterr().err
    second.put("from-second", "chat", "m", {"text": "2"})
    assert first.get("from-second") == {"text": "2"}  # not writing on into the file set aside
    first.put("from-first", "chat", "m", {"text": "1"})
    assert second.get("from-first") == {"text": "1"}
    first.close()
    second.close()


def test_the_key_never_reaches_the_cache_file(cached, session, cache_path):
    assert session.config.api_key.reveal() == TEST_KEY
    cached.run(CELL)
    cached.run("%%chat --thread t\nHello")
    cached.run("%%chat --api responses -s 'Be kind'\nHello")
    files = list(cache_path.parent.iterdir())
    assert any(f.name.endswith("-wal") for f in files)  # in use: WAL mode, so search the log too
    for f in files:
        assert TEST_KEY.encode() not in f.read_bytes()
    cached.run("%openai cache off")
    assert TEST_KEY.encode() not in cache_path.read_bytes()
    assert len(sqlite3.connect(cache_path).execute("select * from responses").fetchall()) == 3


def test_a_closed_cache_is_one_self_contained_file_and_replay_leaves_no_trace(nb, cache_path):
    nb.run(f"%openai cache on {cache_path}")
    nb.run(CELL)
    nb.run("%openai cache off")
    assert [p.name for p in cache_path.parent.iterdir()] == [cache_path.name]
    before = cache_path.read_bytes()
    nb.run(f"%openai replay {cache_path}")
    nb.run(CELL)
    nb.run("%openai replay off")
    assert [p.name for p in cache_path.parent.iterdir()] == [cache_path.name]
    assert cache_path.read_bytes() == before  # a replay file shipped in a repository stays unchanged


def test_clear_and_stats(cached, cache_path, offline):
    cached.run(CELL)
    assert f"cache:    on, {cache_path} (1 chat answer)\n" in cached.run("%openai cache stats").stdout
    assert f"cleared {cache_path} (1 chat answer)" in cached.run("%openai cache clear").stdout
    cached.run(CELL)
    assert len(offline.requests) == 2
    status = cached.run("%openai").stdout
    assert f"cache:    on, {cache_path} (1 chat answer)" in status
    cached.run("%openai cache off")
    assert f"{cache_path}: 1 chat answer" in cached.run(f"%openai cache stats {cache_path}").stdout
    assert "cache:    off" in cached.run("%openai").stdout


@pytest.mark.parametrize("line", ["%openai cache sometimes", "%openai replay", "%openai cache on a b c"])
def test_bad_cache_lines_are_one_line(nb, line):
    ran = nb.run(line)
    assert "UsageError" in ran.stderr and "Traceback" not in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1


def test_a_hit_costs_zero_in_the_ledger_but_keeps_its_tokens(cached, session):
    cached.run(CELL)
    cached.run(CELL)
    paid, hit = session.ledger.records
    assert hit.usage == paid.usage and hit.model == paid.model
    assert hit.as_row()["cost"] == 0.0 and Decimal(str(hit.as_row()["saved"])) == paid.cost


def test_a_structured_answer_from_the_cache_is_parsed_again(cached, offline):
    from test_chat_structured import MODELS

    cached.run(MODELS)
    first = cached.run("%%chat --schema Person -o ada\nWho was Ada Lovelace?")
    again = cached.run("%%chat --schema Person -o ada2\nWho was Ada Lovelace?")
    assert len(offline.requests) == 1 and again.result.record.cache_hit
    assert type(cached.ns["ada2"]).__name__ == "Person" and cached.ns["ada2"] == cached.ns["ada"]
    assert answer_of(again) == answer_of(first)


def test_a_tool_cell_replays_its_final_answer_without_running_the_tools_again(cached, offline):
    from test_chat_structured import MODELS

    cached.run(MODELS)
    cell = "%%chat --tools get_weather --no-stream\nWhat is the weather in Paris?"
    first = cached.run(cell)
    assert len(offline.requests) == 2 and len(cached.ns["calls"]) == 1  # two rounds, one tool call
    again = cached.run(cell)
    assert len(offline.requests) == 2 and len(cached.ns["calls"]) == 1
    assert again.result.text == first.result.text and again.result.record.cache_hit
    changed = cached.run(cell.replace("get_weather", "get_weather,get_population"))  # other tools offered
    assert changed.result.record.cache_hit is False and len(offline.requests) > 2


def test_a_cut_answer_is_not_cached_but_one_at_the_cells_token_limit_is(cached, offline):
    offline.cut_stream(after_chunks=3)
    cut = cached.run("%%chat\nExplain streaming")
    assert cut.result.incomplete
    whole = cached.run("%%chat\nExplain streaming")
    assert len(offline.requests) == 2 and not whole.result.incomplete and not whole.result.record.cache_hit
    cached.run("%chat --no-stream --max-tokens 5 hi")
    limited = cached.run("%chat --no-stream --max-tokens 5 hi")  # cut at the cell's own limit: that answer
    assert len(offline.requests) == 3 and limited.result.record.cache_hit
    assert limited.result.incomplete == "it stopped at the token limit (5)"


# --- %%embed: vectors cached per (endpoint, model, dimensions, text) in the same file ---

def restarted_kernel(offline):
    """A new session, as after a kernel restart: the session's own vectors are gone, the file stays."""
    from openai_magics.core.config import Secret
    from openai_magics.core.session import reset_session

    s = reset_session()
    s.configure(base_url=offline.base_url, api_key=Secret(TEST_KEY, "OPENAI_API_KEY"), bills="openai")
    return s


def embedding_requests(offline):
    return [r for r in offline.requests if r.path.endswith("/embeddings")]


def test_embeddings_come_back_from_the_file_after_a_restart(cached, offline, cache_path):
    import numpy as np

    cached.ns["texts"] = [f"note {i}: rivers and bridges" for i in range(1000)]
    first = cached.run("%embed --input texts").result
    sent = len(embedding_requests(offline))
    restarted_kernel(offline)
    cached.run(f"%openai cache on {cache_path}")
    again = cached.run("%embed --input texts")
    assert len(embedding_requests(offline)) == sent  # nothing sent
    assert np.array_equal(again.result.vectors, first.vectors)
    record = again.result.record
    assert record.cache_hit and record.cost == 0 and record.saved == sum(r.cost for r in first.records)
    assert "$0 (cached)" in again.outputs[-1]["text/plain"]
    assert "(1,000 embeddings)" in cached.run("%openai cache stats").stdout


def test_texts_reordered_or_mixed_with_new_ones_come_back_from_the_file_in_their_own_order(
        cached, offline, cache_path):
    """A re-run of the same texts reads whole stored blocks; any other order or mix still finds each text."""
    import numpy as np

    texts = [f"note {i}: rivers and bridges" for i in range(1200)]
    cached.ns["texts"] = texts
    first = cached.run("%embed --input texts --concurrency 4").result.vectors
    by_text = dict(zip(texts, first))
    mixed = texts[600:] + ["a new note"] + texts[:600][::-1] + texts[100:350]
    for order in (texts, mixed):
        restarted_kernel(offline)
        cached.run(f"%openai cache on {cache_path}")
        offline.clear_log()
        cached.ns["order"] = order
        again = cached.run("%embed --input order").result
        sent = [t for r in embedding_requests(offline) for t in r.body["input"]]
        assert sent == ([] if order is texts else ["a new note"])
        assert all(np.array_equal(v, by_text[t]) for t, v in zip(order, again.vectors) if t in by_text)


def test_a_file_from_before_whole_block_lookups_still_hits_and_gains_them(cached, offline, cache_path):
    import numpy as np

    cached.ns["texts"] = [f"entry {i}" for i in range(600)]
    first = cached.run("%embed --input texts").result.vectors
    restarted_kernel(offline)
    old = sqlite3.connect(cache_path)  # as an older version wrote it: blocks without their first key
    old.execute("DROP INDEX vector_blocks_first_key")
    old.execute("ALTER TABLE vector_blocks DROP COLUMN first_key")
    old.execute("ALTER TABLE vector_blocks DROP COLUMN keys_digest")
    old.commit()
    old.close()
    for mode in ("replay", "cache on"):  # read-only as it shipped, then opened for writing (and upgraded)
        restarted_kernel(offline)
        cached.run(f"%openai {mode} {cache_path}")
        offline.clear_log()
        again = cached.run("%embed --input texts")
        assert again.error is None and embedding_requests(offline) == []
        assert np.array_equal(again.result.vectors, first)
        cached.run("%openai replay off")
    columns = [row[1] for row in sqlite3.connect(cache_path).execute("PRAGMA table_info(vector_blocks)")]
    assert "first_key" in columns and "keys_digest" in columns


def test_other_dimensions_or_texts_are_asked_for_and_only_the_new_texts_are_sent(cached, offline, cache_path):
    cached.run("%%embed\nalpha\nbeta")
    restarted_kernel(offline)
    cached.run(f"%openai cache on {cache_path}")
    cached.run("%%embed --dimensions 256\nalpha\nbeta")
    cached.run("%%embed\nalpha\nbeta\ngamma")
    first, shorter, more = (r.body for r in embedding_requests(offline))
    assert shorter["input"] == ["alpha", "beta"] and shorter["dimensions"] == 256
    assert more["input"] == ["gamma"]


def test_replay_of_an_embedding_not_recorded_names_the_cell_and_sends_nothing(nb, offline, cache_path):
    nb.run(f"%openai cache on {cache_path}")
    nb.run("%%embed\nalpha\nbeta")
    restarted_kernel(offline)
    nb.run(f"%openai replay {cache_path}")
    offline.clear_log()
    assert nb.run("%%embed\nalpha\nbeta").result.record.cache_hit
    ran = nb.run("%%embed\nalpha\ndelta\nepsilon")
    line = ran.stderr.strip()
    assert "UsageError" in line and len(line.splitlines()) == 1 and "Traceback" not in line
    assert "embed text-embedding-3-small “delta” and 1 more text" in line and "Nothing was sent" in line
    assert offline.requests == []


def test_embed_no_cache_asks_the_api_for_every_text_and_is_refused_in_replay(cached, offline, cache_path):
    cached.run("%%embed\nalpha\nbeta")
    again = cached.run("%%embed --no-cache\nalpha\nbeta")
    assert [r.body["input"] for r in embedding_requests(offline)] == [["alpha", "beta"]] * 2
    assert not again.result.record.cache_hit and again.result.record.cost > 0
    cached.run(f"%openai replay {cache_path}")
    refused = cached.run("%%embed --no-cache\nalpha\nbeta")
    assert "--no-cache would go to the network" in refused.stderr and len(embedding_requests(offline)) == 2


def test_a_cached_vector_costs_little_more_than_its_own_bytes(cached, session, cache_path):
    cached.ns["texts"] = [f"entry {i}: a short note" for i in range(2000)]
    cached.run("%embed --input texts")
    session.cache.close()
    vectors = 2000 * 1536 * 4
    assert cache_path.stat().st_size <= 1.1 * vectors


def test_embedding_keys_are_the_request_keys():
    from openai_magics.cache.keys import embedding_keys, request_key

    texts = ["plain", 'quotes " and \\ backslash', "accents é and emoji 😀", "line\nbreak", "\u2028"]
    for endpoint, dimensions in (("offline", None), ("https://api.openai.com/v1", 256)):
        assert embedding_keys(endpoint, "m", dimensions, texts) == [
            request_key(endpoint, "embeddings", {"model": "m", "dimensions": dimensions, "input": t}) for t in texts]


def test_vectors_stored_one_per_entry_by_an_older_version_still_replay(nb, session, offline, cache_path):
    import numpy as np

    from openai_magics.cache.keys import endpoint_of, request_key
    from openai_magics.offline.api.embeddings import vectors

    old = sqlite3.connect(cache_path)
    old.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, kind TEXT NOT NULL, model TEXT NOT NULL, "
                "body BLOB NOT NULL, created REAL NOT NULL)")
    key = request_key(endpoint_of(session), "embeddings", {"model": "text-embedding-3-small", "input": "alpha"})
    old.execute("INSERT INTO responses VALUES (?, 'embed', 'text-embedding-3-small', ?, 0)",
                (key, vectors(["alpha"], 1536)[0].tobytes()))
    old.commit()
    old.close()
    nb.run(f"%openai replay {cache_path}")
    replayed = nb.run("%embed alpha")
    nb.run("%openai replay off")
    assert replayed.error is None and offline.requests == []
    assert np.array_equal(replayed.result.vectors, vectors(["alpha"], 1536))


def test_stats_count_each_text_once(cached):
    cached.run("%%embed\nalpha\nbeta")
    cached.run("%%embed\nalpha\nbeta\ngamma")
    assert "session:  2 hits, 3 misses, 3 stored" in cached.run("%openai cache stats").stdout


def test_a_file_locked_by_another_kernel_costs_no_answer(cached, session, cache_path):
    other = sqlite3.connect(cache_path, isolation_level=None)  # another kernel, holding the file
    other.execute("BEGIN EXCLUSIVE")
    session.cache.lock_wait = 0.3  # instead of waiting 30 s for it
    try:
        ran = cached.run("%%chat --no-stream\nHello while locked")
        embedded = cached.run("%%embed\nlocked text")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert ran.error is None and ran.result.text.startswith("### Offline answer")
    assert embedded.error is None and embedded.result.vectors.shape == (1, 1536)
    assert ran.stderr.count("⚠ Not cached") == 1 and "database is locked" in ran.stderr
    assert session.ledger.records[0].cost > 0


def test_a_replay_variable_naming_a_missing_file_is_one_clear_line(monkeypatch, tmp_path):
    from IPython.core.error import UsageError

    from openai_magics.core.session import reset_session

    from openai_magics.cache.policy import current

    monkeypatch.setenv("OPENAI_MAGICS_REPLAY", str(tmp_path / "typo.sqlite"))
    with pytest.raises(UsageError, match="No cache file at .*typo.sqlite to replay from"):
        current(reset_session())  # the first call that needs the cache says so
    monkeypatch.delenv("OPENAI_MAGICS_REPLAY")
    reset_session()


def test_without_a_path_the_cache_lives_in_the_users_cache_folder(nb, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    ran = nb.run("%openai cache on")
    expected = tmp_path / "openai-magics" / "responses.sqlite"
    assert f"cache: on, {expected} (empty)" in ran.stdout and expected.is_file()
    nb.run("%openai cache off")
