"""`%%embed --store PATH`: vectors written to an on-disk LanceDB store with their texts and ids, searched from a
fresh session, never paid twice (ids already stored, and the response cache), Parquet files as input."""
import numpy as np
import pandas as pd

TOPICS = ["cats", "dogs", "stars", "rivers", "bread"]


def embedding_requests(offline):
    return [r for r in offline.requests if r.path.startswith("/v1/embeddings")]


def texts_sent(offline) -> list[str]:
    return [t for r in embedding_requests(offline) for t in (r.body["input"] if isinstance(r.body["input"], list)
                                                             else [r.body["input"]])]


def docs(n=200):
    return [f"note {i} on {TOPICS[i % len(TOPICS)]}" for i in range(n)]


def test_a_store_written_in_one_session_is_searched_from_a_fresh_one(nb, session, offline, tmp_path):
    from openai_magics.core.session import reset_session

    path = tmp_path / "notes.lance"
    nb.ns["docs"] = docs()
    ran = nb.run(f"%embed --input docs --store {path} -o store")
    assert ran.error is None, ran.error
    assert "200 texts" in ran.text and "200 written now" in ran.text
    in_memory = nb.run("%embed --input docs").result  # the same vectors in RAM: what the store must agree with
    scores = in_memory.similarity("dogs")[:, 0]

    fresh = reset_session()  # a restarted kernel: only the folder knows the vectors
    fresh.configure(base_url=session.config.base_url, api_key=session.config.api_key, bills="openai")
    offline.clear_log()
    nb.ns.pop("store")
    reopened = nb.run(f"%embed --store {path} -o store").result
    assert len(reopened) == 200 and "text-embedding-3-small" in reopened.summary
    found = reopened.search("dogs", k=5)
    assert np.allclose(found["score"], np.sort(scores)[::-1][:5], atol=1e-3)  # the five best (ties in any order)
    assert np.allclose(found["score"], scores[found.index], atol=1e-3)
    assert list(found["text"]) == [docs()[i] for i in found.index]
    assert texts_sent(offline) == ["dogs"]  # only the query was embedded
    similarity = reopened.similarity("stars")
    assert similarity.shape == (200, 1) and int(np.argmax(similarity[:, 0])) % 5 == 2


def test_texts_already_stored_are_not_asked_again(nb, session, offline, tmp_path):
    path = tmp_path / "s.lance"
    nb.ns["docs"] = docs(50)
    nb.run(f"%embed --input docs --store {path}")
    offline.clear_log()
    nb.ns["docs"] = docs(80)  # the same 50 and 30 more
    ran = nb.run(f"%embed --input docs --store {path}")
    assert ran.error is None and "30 written now, 50 already stored (not asked again)" in ran.text
    assert sorted(texts_sent(offline)) == sorted(docs(80)[50:])
    assert len(ran.result) == 80


def test_the_response_cache_still_prevents_paying_twice(nb, session, offline, tmp_path):
    nb.run(f"%openai cache on {tmp_path / 'responses.sqlite'}")
    try:
        nb.ns["docs"] = docs(40)
        nb.run(f"%embed --input docs --store {tmp_path / 'a.lance'}")
        paid = len(session.ledger.records)
        offline.clear_log()
        ran = nb.run(f"%embed --input docs --store {tmp_path / 'b.lance'}")  # another store, the same texts
        assert ran.error is None and len(ran.result) == 40
        assert embedding_requests(offline) == []
        assert all(r.cache_hit for r in session.ledger.records[paid:])
    finally:
        nb.run("%openai cache off")


def test_a_parquet_column_is_embedded_into_a_store_from_python(session, offline, tmp_path):
    import openai_magics
    from pathlib import Path

    source = tmp_path / "in.parquet"
    pd.DataFrame({"body": docs(30), "n": range(30)}).to_parquet(source)
    store = openai_magics.embed(Path(source), column="body", store=tmp_path / "p.lance", dimensions=32)
    assert len(store) == 30 and store.dimensions == 32
    table = store.to_pandas()
    assert list(table.index) == list(range(30)) and list(table["text"]) == docs(30)
    assert store.search("bread", k=1)["text"].iloc[0].endswith("bread")
