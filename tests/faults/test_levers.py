"""The cost levers' faults (issue 31): a lever set wrong is one line and sends nothing; flex without capacity is
one line, charged nothing; the key is never in any of it."""
from __future__ import annotations

import pytest

from tests.faults.checks import one_line

BAD_LEVERS = [  # a lever set wrong, and what its one line says
    pytest.param("%chat --tier cheap hello", "--tier must be one of", id="tier"),
    pytest.param("import openai_magics; openai_magics.chat('hello', tier='slow')", "--tier must be one of",
                 id="tier-in-facade"),
    pytest.param("%%chat --over rows --batch --tier flex\n{item}", "does not take --tier", id="tier-with-batch"),
    pytest.param("%chat --cache-key k --cache-retention forever hello", "invalid choice", id="retention"),
    pytest.param("%chat --cache-retention 24h hello", "--cache-retention goes with --cache-key",
                 id="retention-without-key"),
    pytest.param('%chat --cache-key " " hello', "--cache-key needs a name", id="empty-cache-key"),
    pytest.param("%chat --logprobs 50 hello", "--logprobs takes how many alternatives", id="too-many-alternatives"),
    pytest.param("%chat --logprobs -m o4-mini hello", "returns no logprobs", id="logprobs-of-a-reasoning-model"),
    pytest.param("%%chat --over rows --batch --logprobs\n{item}", "does not take --logprobs",
                 id="logprobs-with-batch"),
    pytest.param("%chat --background --api chat hello", "--background runs on the Responses",
                 id="background-on-chat-completions"),
    pytest.param("%chat --background --thread t hello", "does not take --background", id="background-in-a-thread"),
    pytest.param("%openai background collect", "needs a response id", id="background-without-id"),
]


@pytest.mark.parametrize("cell, needle", BAD_LEVERS)
def test_a_lever_set_wrong_is_one_line_and_nothing_is_sent(nb, session, offline, cell, needle):
    nb.ns["rows"] = ["a", "b"]
    one_line(nb.run(cell), needle)
    assert offline.requests == [] and session.ledger.records == []


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_flex_without_capacity_is_one_line_charged_nothing(nb, session, offline, stream):
    offline.flex_unavailable()
    line = one_line(nb.run("%chat --tier flex " + ("" if stream else "--no-stream ") + "hello"),
                    "Flex processing has no capacity", "nothing was charged")
    assert "flex-or-default" in line and session.ledger.records == []


def test_a_server_that_refuses_logprobs_is_one_line(nb, session, offline):
    session.configure(bills=None)  # a server that may take anything: the request goes, the server says no
    offline.any_model = True
    line = one_line(nb.run("%chat -m o4-mini --logprobs --no-stream hello"), "logprobs")
    assert "400" in line and session.ledger.records == []


@pytest.mark.parametrize("action", ["collect", "status", "cancel"])
def test_an_unknown_background_id_is_one_line(nb, session, offline, tmp_path, monkeypatch, action):
    monkeypatch.setenv("OPENAI_MAGICS_BACKGROUND_DIR", str(tmp_path))
    one_line(nb.run(f"%openai background {action} resp_nosuch"), "404", "resp_nosuch")
    assert session.ledger.records == []
