"""The budget is a true cap: checked before every request, under one lock for every thread."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from tests.faults.checks import one_line


def _texts(n: int, i: int) -> list[str]:
    return [f"text {i} number {k} " + "word " * 200 for k in range(n)]


@pytest.mark.parametrize("threads", [2, 8])
def test_threads_embedding_at_once_stay_within_the_budget(session, offline, threads):
    import openai_magics
    from openai_magics.core.errors import UsageError

    offline.latency = 0.2  # every request in flight at the same time
    one = openai_magics.embed(_texts(1, -1), session=session).records[0].cost
    session.ledger.clear()
    session.budget = one * Decimal("1.5")  # room for one more request, not two
    outcomes: list = []

    def embed(i):
        try:
            outcomes.append(openai_magics.embed(_texts(1, i), session=session))
        except UsageError as exc:
            outcomes.append(exc)

    workers = [threading.Thread(target=embed, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert session.ledger.total_cost <= session.budget
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert all("Refused before sending" in str(o) for o in outcomes if isinstance(o, Exception))
    assert len([r for r in offline.requests if r.path.endswith("/embeddings")]) == 2  # the probe and the one


def test_a_budget_refusal_in_a_big_embed_keeps_what_finished(nb, session, offline):
    nb.ns["texts"] = _texts(600, 0)
    nb.run("%openai budget 0.0000001")
    one_line(nb.run("%embed --input texts --concurrency 1"), "Refused before sending")
    assert not offline.requests and len(session.ledger) == 0
