"""The cost levers' faults (issue 31): a lever set wrong is one line and sends nothing; flex without capacity is
one line, charged nothing; the key is never in any of it."""
from __future__ import annotations

import pytest

from tests.faults.checks import one_line

BAD_LEVERS = {
    "tier": ("%chat --tier cheap hello", "--tier must be one of"),
    "tier-in-facade": ("import openai_magics; openai_magics.chat('hello', tier='slow')", "--tier must be one of"),
    "tier-with-batch": ("%%chat --over rows --batch --tier flex\n{item}", "does not take --tier"),
    "retention": ("%chat --cache-key k --cache-retention forever hello", "invalid choice"),
    "retention-without-key": ("%chat --cache-retention 24h hello", "--cache-retention goes with --cache-key"),
    "empty-cache-key": ('%chat --cache-key " " hello', "--cache-key needs a name"),
    "too-many-alternatives": ("%chat --logprobs 50 hello", "--logprobs takes how many alternatives"),
    "logprobs-of-a-reasoning-model": ("%chat --logprobs -m o4-mini hello", "returns no logprobs"),
    "logprobs-with-batch": ("%%chat --over rows --batch --logprobs\n{item}", "does not take --logprobs"),
    "background-on-chat-completions": ("%chat --background --api chat hello", "--background runs on the Responses"),
    "background-in-a-thread": ("%chat --background --thread t hello", "does not take --background"),
    "background-without-id": ("%openai background collect", "needs a response id"),
}


@pytest.mark.parametrize("case", list(BAD_LEVERS))
def test_a_lever_set_wrong_is_one_line_and_nothing_is_sent(nb, session, offline, case):
    cell, needle = BAD_LEVERS[case]
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
