"""%%embed and the embedding engine: batches, concurrency, the session cache, search; the offline server's limits."""
import numpy as np
import openai
import pandas as pd
import pytest

import openai_magics
from openai_magics.embed.engine import plan_batches
from openai_magics.embed.request import EmbeddingLimits
from openai_magics.offline.api.embeddings import vectors as server_vectors

MODEL = "text-embedding-3-small"


def embedding_requests(offline):
    return [r for r in offline.requests if r.path.endswith("/embeddings")]


def one_line_error(ran, *fragments):
    assert ran.error is not None
    assert "Traceback" not in ran.stderr + ran.stdout
    assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    for fragment in fragments:
        assert fragment in ran.stderr


# --- the magic -----------------------------------------------------------------------------------

def test_cell_lines_become_vectors_in_order_with_a_usage_line(nb, offline):
    ran = nb.run("%%embed -o e\na cat sat on the mat\n\n  the cat sat on a mat\nstock market rally\n")
    e = nb.ns["e"]
    assert e.texts == ["a cat sat on the mat", "  the cat sat on a mat", "stock market rally"]
    assert e.vectors.shape == (3, 1536) and e.vectors.dtype == np.float32
    expected = server_vectors(e.texts, 1536)
    assert np.allclose(e.vectors, expected, atol=1e-6)
    shown = ran.outputs[-1]["text/plain"]
    assert "EmbedResult: 3 texts × 1,536 dimensions" in shown and "a cat sat on the mat" in shown
    assert f"{MODEL} · {e.tokens:,} in · $" in shown
    [request] = embedding_requests(offline)
    assert request.body["input"] == e.texts and request.body["encoding_format"] == "base64"
    [record] = openai_magics.session().ledger.records
    assert record.magic == "embed" and record.usage.input_tokens == e.tokens > 0 and record.cost > 0


def test_line_magic_embeds_the_rest_of_the_line(nb, offline):
    nb.ns["who"] = "world"
    ran = nb.run("%embed -m text-embedding-3-large hello {who} and {nobody_by_that_name}")
    assert ran.error is None
    assert embedding_requests(offline)[0].body == {"model": "text-embedding-3-large", "encoding_format": "base64",
                                                   "input": ["hello world and {nobody_by_that_name}"]}
    assert ran.result.shape == (1, 3072)


def test_quiet_returns_nothing_and_binds(nb):
    ran = nb.run("%%embed -q -o v\none\ntwo")
    assert ran.result is None and ran.outputs == [] and nb.ns["v"].shape == (2, 1536)


def test_input_accepts_a_list_a_series_and_a_dataframe_column(nb, offline):
    texts = ["red apples", "green pears", "ripe bananas"]
    nb.ns.update(texts=texts, series=pd.Series(texts), df=pd.DataFrame({"text": texts, "n": [1, 2, 3]}),
                 one=pd.DataFrame({"text": texts}))
    results = [nb.run(f"%embed --input {name}").result for name in
               ("texts", "series", "df.text", "df['text']", "one")]
    for result in results:
        assert result.texts == texts
        assert np.array_equal(result.vectors, results[0].vectors)
    assert len(embedding_requests(offline)) == 1  # the rest came from the session cache
    one_line_error(nb.run("%embed --input df"), "2 columns", "--input df.text")
    one_line_error(nb.run("%embed --input nothing_here"), "--input nothing_here")
    one_line_error(nb.run("%%embed --input texts\nmore"), "either in the cell or with --input")


@pytest.mark.parametrize("cell, fragment", [
    ("%%embed\n\n   \n", "Nothing to embed: the cell is empty."),
    ("%embed --input empty", "Nothing to embed: empty is empty."),
    ("%embed --input gaps", "Input 1 of gaps is empty"),
    ("%embed --input numbers", "Input 0 of numbers is not text but int"),
    ("%embed --dimensions 0 x", "--dimensions must be positive"),
    ("%embed --dimensions 4000 x", "at most 1,536 dimensions"),
    ("%embed -m text-embedding-ada-002 --dimensions 256 x", "does not take --dimensions"),
])
def test_bad_input_is_one_clear_line_and_sends_nothing(nb, session, offline, cell, fragment):
    nb.ns.update(empty=[], gaps=["a", ""], numbers=[1, 2])
    one_line_error(nb.run(cell), "UsageError", fragment)
    assert embedding_requests(offline) == [] and session.ledger.records == []


def test_an_over_long_input_is_named_by_its_index(nb, offline):
    nb.ns["docs"] = ["short", "also short", "word " * 9000, "fine"]
    one_line_error(nb.run("%embed --input docs"), "Input 2 is 9,00", "limit of 8,192 tokens per input",
                   "--truncate")
    assert embedding_requests(offline) == []


def test_truncate_cuts_an_over_long_input_to_fit(nb, offline):
    long = "word " * 9000
    nb.ns["docs"] = ["short", long, "fine"]
    ran = nb.run("%embed --truncate --input docs")
    result = ran.result
    assert result.truncated == [1] and result.texts[1] == long
    assert "1 truncated to fit" in ran.outputs[-1]["text/plain"]
    [request] = embedding_requests(offline)
    sent = request.body["input"][1]
    assert long.startswith(sent) and len(sent) < len(long)
    assert result.tokens <= 8192 + 10


def test_a_progress_bar_shows_only_when_several_requests_are_needed(nb, offline):
    nb.ns["many"] = [f"sentence number {i}" for i in range(600)]
    ran = nb.run("%embed --input many --concurrency 3")
    widget = "application/vnd.jupyter.widget-view+json"
    bar, retired = [o for o in ran.outputs if widget in o]
    assert bar[widget]["model_id"] and bar["text/plain"] == ""  # the saved notebook holds nothing that varies
    assert retired[widget]["model_id"] == ""  # and once done the bar steps aside
    assert ran.result.requests == 3 and "3 requests" in ran.outputs[-1]["text/plain"]
    few = nb.run("%%embed\none\ntwo")
    assert not any("application/vnd.jupyter.widget-view+json" in o for o in few.outputs)


def test_budget_refuses_before_sending(nb, offline):
    nb.run("%openai budget 0.0000001")
    nb.ns["many"] = [f"sentence number {i}" for i in range(100)]
    one_line_error(nb.run("%embed --input many"), "Refused before sending")
    assert embedding_requests(offline) == []


# --- the engine ----------------------------------------------------------------------------------

def test_order_is_kept_across_batches_and_concurrency(session, offline):
    offline.latency = 0.05
    texts = [f"item {i}: {'alpha beta gamma'[i % 7:]} {i * 31 % 97}" for i in range(1500)]
    result = openai_magics.embed(texts, concurrency=4)
    assert result.requests == 4 and result.peak_concurrency == 4
    assert np.allclose(result.vectors, server_vectors(texts, 1536), atol=1e-6)
    assert [len(r.body["input"]) for r in embedding_requests(offline)] == [375] * 4
    assert result.tokens == sum(r.usage.input_tokens for r in session.ledger.records)


def test_requests_stay_within_the_api_limits(session, offline):
    many = [f"t{i}" for i in range(5000)]
    openai_magics.embed(many, concurrency=1)
    assert [len(r.body["input"]) for r in embedding_requests(offline)] == [2048, 2048, 904]
    offline.clear_log()
    long = [f"{i} " + "word " * 8100 for i in range(38)]  # 38 × ~8,100 tokens: over 300,000 in all
    result = openai_magics.embed(long, concurrency=1)
    assert result.requests == 2
    assert all(r.usage.input_tokens <= 300_000 for r in session.ledger.records[-2:])


def test_plan_batches_follows_limits_given_as_data():
    limits = EmbeddingLimits(max_inputs=3, max_input_tokens=10, max_request_tokens=12)
    batches = plan_batches(list("abcdefg"), [5, 5, 5, 1, 1, 1, 1], limits, concurrency=1)
    assert [b.texts for b in batches] == [["a", "b"], ["c", "d", "e"], ["f", "g"]]
    assert [b.tokens for b in batches] == [10, 7, 2]


def test_duplicates_are_embedded_once(session, offline):
    result = openai_magics.embed(["tea", "coffee", "tea", "tea"])
    [request] = embedding_requests(offline)
    assert request.body["input"] == ["tea", "coffee"]
    assert np.array_equal(result.vectors[0], result.vectors[2]) and np.array_equal(result.vectors[0], result.vectors[3])


def test_embedding_the_same_texts_again_sends_no_request(session, offline):
    texts = [f"line {i}" for i in range(300)]
    first = openai_magics.embed(texts)
    offline.clear_log()
    again = openai_magics.embed(list(reversed(texts)))
    assert embedding_requests(offline) == []
    assert np.array_equal(again.vectors, first.vectors[::-1])
    assert again.requests == 0 and "$0 (cached)" in again.usage_line
    hit = session.ledger.records[-1]
    assert hit.cache_hit and hit.cost == 0 and hit.saved > 0
    resized = openai_magics.embed(texts, dimensions=256)  # another size is another vector
    assert resized.shape == (300, 256) and len(embedding_requests(offline)) == resized.requests > 0


def test_with_the_response_cache_on_vectors_outlive_the_session(nb, offline, tmp_path):
    from openai_magics.core.session import reset_session

    path = tmp_path / "responses.sqlite"
    nb.ns["docs"] = [f"line {i}" for i in range(10)]
    nb.run(f"%openai cache on {path}")
    first = nb.run("%embed --input docs").result
    nb.run("%openai cache off")
    s = reset_session()  # a new kernel: the session's own vectors are gone, the file is not
    s.configure(base_url=offline.base_url, bills="openai")
    offline.clear_log()
    nb.run(f"%openai replay {path}")
    again = nb.run("%embed --input docs")
    assert embedding_requests(offline) == [] and np.array_equal(again.result.vectors, first.vectors)
    nb.ns["docs"] = ["never embedded"]
    miss = nb.run("%embed --input docs")
    one_line_error(miss, "Not in the replay cache", "never embedded")
    assert embedding_requests(offline) == []
    nb.run("%openai replay off")


def test_a_500_is_retried_and_charged_once(session, offline):
    offline.fail(500)
    texts = [f"sentence {i}" for i in range(600)]
    result = openai_magics.embed(texts, concurrency=2)
    assert sorted(r.status for r in embedding_requests(offline)) == [200] * result.requests + [500]
    assert len(session.ledger.records) == result.requests == 2
    assert np.allclose(result.vectors, server_vectors(texts, 1536), atol=1e-6)


def test_a_permanent_error_fails_and_charges_only_what_succeeded(nb, session, offline):
    nb.run("%embed a first call, to hear the rate limits")  # the first request to a model goes alone
    session.ledger.clear()
    offline.clear_log()
    nb.ns["texts"] = [f"sentence {i}" for i in range(2100)]
    # Whichever of the two concurrent requests arrives first is answered, the other refused: were the first
    # refused, the second might not be sent yet (a busy machine) and, rightly, never would be.
    offline.faults.add(path="/embeddings")  # answered as usual, once
    offline.fail(400, message="This request was refused on purpose.")
    ran = nb.run("%embed --input texts --concurrency 2")
    assert ran.error is not None and f"Server error ({offline.base_url.rsplit('/v1', 1)[0]}):" in ran.text
    assert "refused on purpose" in ran.text
    assert "Traceback" not in ran.text
    statuses = sorted(r.status for r in embedding_requests(offline))
    assert statuses == [200, 400]
    [charged] = session.ledger.records
    assert charged.usage.input_tokens > 0
    offline.clear_log()
    assert nb.run("%embed --input texts --concurrency 2").error is None
    assert sum(len(r.body["input"]) for r in embedding_requests(offline)) == 1050  # what succeeded was kept


def test_a_permanent_error_stops_what_was_not_sent(session, offline):
    from openai_magics.core.errors import CallFailed

    offline.fail(400)
    with pytest.raises(CallFailed):
        openai_magics.embed([f"sentence {i}" for i in range(2100)], concurrency=1)
    assert len(embedding_requests(offline)) == 1 and session.ledger.records == []


@pytest.mark.parametrize("limits", [dict(requests=1, requests_per=0.02), dict(tokens=1_400, tokens_per=0.05)],
                         ids=["remaining-requests", "remaining-tokens"])
def test_rate_limits_reported_by_the_server_cap_concurrency(session, offline, limits):
    offline.latency = 0.02
    offline.enforce_limits(**limits)  # room for one request at a time
    openai_magics.embed(["a first call, to hear the limits"])
    result = openai_magics.embed([f"sentence {i}" for i in range(1000)], concurrency=4)
    assert result.requests == 4 and result.peak_concurrency == 1
    assert session.http.limits.refusals == 0  # paced within them, never refused


def test_an_interrupt_keeps_what_arrived_and_sends_nothing_more(session, offline):
    class StopButton:  # the kernel's interrupt arrives while the first answer is being taken in
        def start(self, tally): self.tally, self.finished = tally, False
        def update(self, force=False):
            if not force:
                raise KeyboardInterrupt
        def finish(self): self.finished = True

    texts = [f"sentence {i}" for i in range(2100)]
    stop = StopButton()
    with pytest.raises(KeyboardInterrupt):
        openai_magics.embed(texts, concurrency=1, progress=stop)
    assert stop.finished and stop.tally.count() == "2,048/2,100 texts"
    assert len(embedding_requests(offline)) == 1 and len(session.ledger.records) == 1
    offline.clear_log()
    openai_magics.embed(texts, concurrency=1)
    assert sum(len(r.body["input"]) for r in embedding_requests(offline)) == 2100 - 2048


def test_hits_duplicates_and_new_texts_land_in_their_rows_and_the_rows_are_read_only(session, offline):
    known = [f"known {i}" for i in range(40)]
    openai_magics.embed(known)
    mixed = [f"new {i}" if i % 3 else known[i % 40] for i in range(900)] + known[:5] + ["new 1"]
    result = openai_magics.embed(mixed, concurrency=3)
    assert np.allclose(result.vectors, server_vectors(mixed, 1536), atol=1e-6)
    assert result.vectors.dtype == np.float32 and result.vectors.flags.c_contiguous
    with pytest.raises(ValueError):  # the session answers the same texts from these rows: they stay as sent
        result.vectors[0] *= 2
    again = openai_magics.embed(mixed[::-1])
    assert again.requests == 0 and np.array_equal(again.vectors, result.vectors[::-1])


def test_an_answer_in_any_order_and_layout_is_read_by_index():
    import base64
    import json

    from openai_magics.embed.answer import read_answer
    from openai_magics.embed.validate import checked_vectors

    vectors = np.arange(12, dtype="<f4").reshape(3, 4)
    data = [{"object": "embedding", "index": i, "embedding": base64.b64encode(vectors[i].tobytes()).decode()}
            for i in (2, 0, 1)]
    data[1]["embedding"] = data[1]["embedding"].replace("/", "\\/")  # an escape a JSON encoder may write
    data[2]["embedding"] = vectors[1].tolist()  # plain floats, as some compatible servers send
    pretty = json.dumps({"object": "list", "data": data, "model": "m", "usage": {"prompt_tokens": 3}}, indent=2)
    answer, vector_of = read_answer(pretty.encode())
    assert answer["usage"] == {"prompt_tokens": 3} and answer["model"] == "m"
    assert np.array_equal(np.vstack(checked_vectors(answer, 3, resolve=vector_of)), vectors)


# --- the result ----------------------------------------------------------------------------------

CORPUS = ["The cat sleeps on the warm windowsill.", "A kitten chases a ball of yarn.",
          "Stocks rallied after the central bank cut rates.", "Bond yields fell as markets calmed.",
          "Simmer the tomato sauce for twenty minutes.", "Knead the dough until it is smooth."]


def test_search_returns_the_nearest_texts_first(session):
    result = openai_magics.embed(CORPUS)
    found = result.search("the cat is sleeping on a windowsill", k=3)
    assert isinstance(found, pd.DataFrame) and list(found.columns) == ["text", "score"]
    assert found.index[0] == 0 and found.iloc[0]["text"] == CORPUS[0]
    assert list(found["score"]) == sorted(found["score"], reverse=True)
    assert result.search("stock markets and interest rates", k=1).index[0] == 2


def test_similarity_and_to_pandas(session):
    result = openai_magics.embed(CORPUS)
    sim = result.similarity()
    assert sim.shape == (6, 6) and np.allclose(np.diag(sim), 1, atol=1e-5)
    assert np.allclose(sim, sim.T, atol=1e-6)
    to_cat = result.similarity("the cat sleeps")
    assert to_cat.shape == (6, 1) and to_cat.argmax() == 0
    frame = result.to_pandas()
    assert list(frame.columns) == ["text", "embedding"] and frame["embedding"][3].shape == (1536,)
    assert np.asarray(result).shape == (6, 1536) and len(result) == 6


# --- the offline server --------------------------------------------------------------------------

def test_server_enforces_the_embedding_limits(offline):
    client = openai.OpenAI(base_url=offline.base_url, api_key="sk-x", max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model=MODEL, input=["x"] * 2049)
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model=MODEL, input=["ok", "word " * 8200])
    assert "maximum context length is 8192 tokens" in str(err.value) and "input 1" in str(err.value)
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model=MODEL, input=[f"{i} " + "word " * 8100 for i in range(38)])
    assert "max 300000 tokens per request" in str(err.value)
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model=MODEL, input=["fine", ""])
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model="text-embedding-ada-002", input="x", dimensions=8)
    assert "does not support specifying dimensions" in str(err.value)


def test_server_vectors_are_unit_length_and_the_same_in_both_formats(offline):
    client = openai.OpenAI(base_url=offline.base_url, api_key="sk-x", max_retries=0)
    floats = client.embeddings.create(model=MODEL, input=["hello"], dimensions=64, encoding_format="float")
    default = client.embeddings.create(model=MODEL, input=["hello"], dimensions=64)  # the SDK asks for base64
    assert np.allclose(floats.data[0].embedding, default.data[0].embedding)
    assert abs(np.linalg.norm(floats.data[0].embedding) - 1) < 1e-5
