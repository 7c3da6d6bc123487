"""Compatible servers: each quirk a real server shows, reproduced by the offline server, gives the user one
clear line or a correct, marked result, and nothing wrong is kept (threads, cache, ledger)."""
import numpy as np
import pytest

from openai_magics.offline.api.embeddings import vectors as server_vectors

MODEL = "text-embedding-3-small"
TEXTS = "%%embed -o e\na cat sat on the mat\nthe stock market fell\nrivers of Europe\n"


def one_line(ran, *fragments):
    """The cell failed with one line (stdout for CallFailed, stderr for UsageError), no traceback."""
    shown = (ran.stdout + ran.stderr).strip()
    assert ran.error is not None, shown
    assert "Traceback" not in shown and len(shown.splitlines()) == 1, shown
    for fragment in fragments:
        assert fragment in shown, shown
    return shown


def posts(offline, suffix):
    return [r for r in offline.requests if r.method == "POST" and r.path.endswith(suffix)]


# --- embeddings ----------------------------------------------------------------------------------

def test_per_token_embeddings_are_refused_in_one_line_and_nothing_is_kept(nb, session, offline):
    offline.behave_like("per_token_embeddings")
    ran = nb.run(TEXTS)
    one_line(ran, "one vector per token", "--pool mean")
    assert "e" not in nb.ns
    offline.reset()
    assert nb.run(TEXTS).error is None
    assert len(posts(offline, "/embeddings")) == 1, "a refused answer was kept in the session's vectors"
    assert nb.ns["e"].vectors.shape == (3, 1536)


def test_per_token_embeddings_mean_pooled_when_asked(nb, offline):
    offline.behave_like("llama.cpp")
    ran = nb.run(TEXTS.replace("-o e", "-o e --pool mean"))
    assert ran.error is None
    e = nb.ns["e"]
    assert e.vectors.shape == (3, 64) and np.allclose(np.linalg.norm(e.vectors, axis=1), 1, atol=1e-5)
    assert "a cat sat on the mat" in str(e.search("a cat on a mat", k=1))


@pytest.mark.parametrize("quirk, says", [
    ("missing_vectors", "has 2 vectors for 3 texts"),
    ("ragged_vectors", "vectors of different lengths"),
])
def test_wrong_vector_counts_and_lengths_are_one_line(nb, offline, quirk, says):
    offline.behave_like(quirk)
    one_line(nb.run(TEXTS), says, "nothing was kept")
    offline.reset()
    assert nb.run(TEXTS).error is None
    assert len(posts(offline, "/embeddings")) == 1, "a refused answer was kept in the session's vectors"


def test_vectors_out_of_order_are_put_back_by_index(nb, offline):
    offline.behave_like("shuffled_vectors")
    assert nb.run(TEXTS).error is None
    e = nb.ns["e"]
    assert np.allclose(e.vectors, server_vectors(e.texts, 1536), atol=1e-6)


def test_negative_embedding_usage_is_refused_and_counted_here(nb, session, offline):
    offline.behave_like("negative_usage")
    assert nb.run(TEXTS).error is None
    [record] = session.ledger.records
    assert record.estimated and record.usage.input_tokens > 0 and (record.cost or 0) >= 0


# --- what retrying cannot fix --------------------------------------------------------------------

def test_schema_refused_with_a_validation_500_is_not_retried(nb, offline):
    offline.behave_like("validation_as_500")
    nb.ns["Point"] = {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"],
                      "additionalProperties": False}
    ran = nb.run("%%chat --schema Point\nA point, in JSON.")
    one_line(ran, "does not support structured outputs", "drop --schema", "--json")
    assert [r.status for r in posts(offline, "/chat/completions")] == [500]


def test_responses_api_missing_says_use_api_chat(nb, offline):
    offline.behave_like("no_responses")
    ran = nb.run("%chat --api responses hi")
    one_line(ran, "no Responses API", "--api chat")
    assert len(posts(offline, "/responses")) == 1


def test_a_plain_500_is_still_retried(nb, offline):
    offline.fail(500, times=1)
    assert nb.run("%chat hi").error is None
    assert [r.status for r in posts(offline, "/chat/completions")] == [500, 200]
