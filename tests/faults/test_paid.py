"""Every paid response is in the ledger, whatever fails after it; the budget holds for every tool round."""
from __future__ import annotations

import json

import pytest

from tests.faults.checks import one_line
from tests.faults.rogue import Answer, chunk, completion, json_answer

MODES = {"stream": "", "no-stream": " --no-stream"}


def _tool_that_breaks_the_next_round(offline, failure: dict):
    def lookup(city: str) -> str:
        """Look a city up."""
        offline.fail(**failure)  # the next request (round 2) fails
        return f"{city}: 42"
    return lookup


FAILURES = {
    "500": {"status": 500, "times": 10, "retry_after": 0.01},
    "context": {"status": 400, "code": "context_length_exceeded",
                "message": "This model's maximum context length is 128000 tokens."},
    "401": {"status": 401},
    "404": {"status": 404, "message": "The model does not exist."},
}


@pytest.mark.parametrize("mode", list(MODES), ids=list(MODES))
@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_paid_tool_round_stays_in_the_ledger_when_the_next_one_fails(nb, session, offline, failure, mode):
    session.configure(max_retries=4)
    nb.ns["lookup"] = _tool_that_breaks_the_next_round(offline, FAILURES[failure])
    line = one_line(nb.run(f"%chat --tools lookup{MODES[mode]} How big is Oslo?"))
    records = session.ledger.records
    assert len(records) == 1 and records[0].usage.input_tokens > 0 and records[0].cost > 0
    assert records[0].interrupted  # marked: the call did not finish
    if failure == "500":
        assert "retried 4 times" in line and len(offline.requests) == 1 + 5


def test_a_tool_that_exits_keeps_the_paid_round(nb, session, offline):
    def lookup(city: str) -> str:
        """Look a city up."""
        raise SystemExit(3)

    nb.ns["lookup"] = lookup
    nb.run("%chat --tools lookup How big is Oslo?")
    assert len(session.ledger) == 1 and session.ledger.records[0].cost > 0


@pytest.mark.parametrize("mode", list(MODES), ids=list(MODES))
def test_the_budget_is_checked_before_every_tool_round(nb, session, offline, mode):
    def lookup(city: str) -> str:
        """Look a city up."""
        return f"{city}: 42"

    nb.ns["lookup"] = lookup
    nb.run(f"%chat --tools lookup --max-tokens 50{MODES[mode]} How big is Oslo? (offline: 6 tool rounds)")
    one_call = session.ledger.total_cost
    rounds = len(offline.requests)
    session.ledger.clear()
    offline.clear_log()
    nb.run(f"%openai budget {one_call / 2}")
    ran = nb.run(f"%chat --tools lookup --max-tokens 50{MODES[mode]} How big is Oslo? (offline: 6 tool rounds)")
    one_line(ran, "Refused before sending")
    assert session.ledger.total_cost <= session.budget
    assert 0 < len(offline.requests) < rounds  # some rounds went, the one that could overspend did not
    assert len(session.ledger) == 1  # and what they cost is recorded


USAGE = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
NO_CHOICES = {
    "stream": ("%chat hi", Answer(events=[chunk(usage=USAGE), b"[DONE]"])),
    "no-stream": ("%chat --no-stream hi", json_answer({**completion(usage=USAGE), "choices": []})),
    "json-stream": ("%chat --json answer in JSON", Answer(events=[chunk(usage=USAGE), b"[DONE]"])),
    "json-no-stream": ("%chat --json --no-stream answer in JSON", json_answer({**completion(usage=USAGE), "choices": []})),
}


@pytest.mark.parametrize("case", list(NO_CHOICES))
def test_an_answer_without_choices_that_says_what_it_charged_is_one_line_and_recorded(nb, rogue, fast, session, case):
    line, answer = NO_CHOICES[case]
    nb.run(f"%openai endpoint {rogue.base_url} --bills openai")
    rogue.script(answer)
    one_line(nb.run(line), "nothing was stored")
    [record] = session.ledger.records
    assert (record.usage.input_tokens, record.usage.output_tokens) == (5, 3) and record.cost > 0
    assert record.interrupted and record.unreadable  # marked: no answer came of it


def _tool_call_answers(arguments: str, stream: bool) -> list:
    call = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": arguments}}
    if not stream:
        asked = completion(usage=USAGE)
        asked["choices"][0].update(message={"role": "assistant", "content": None, "tool_calls": [call]},
                                   finish_reason="tool_calls")
        return [json_answer(asked), json_answer(completion("Done.", usage=USAGE))]
    first = json.loads(chunk(""))
    first["choices"][0]["delta"] = {"role": "assistant", "tool_calls": [{"index": 0, **call}]}
    return [Answer(events=[json.dumps(first).encode(), chunk(finish="tool_calls"), chunk(usage=USAGE), b"[DONE]"]),
            Answer(events=[chunk("Done."), chunk(finish="stop"), chunk(usage=USAGE), b"[DONE]"])]


@pytest.mark.parametrize("mode", list(MODES), ids=list(MODES))
@pytest.mark.parametrize("arguments", ["not json", '{"a": "x", "b": 2}'], ids=["not-json", "wrong-type"])
def test_tool_arguments_the_tool_cannot_take_go_back_to_the_model_and_every_round_is_paid(nb, rogue, fast, session,
                                                                                        arguments, mode):
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    nb.ns["add"] = add
    nb.run(f"%openai endpoint {rogue.base_url} --bills openai")
    rogue.script(*_tool_call_answers(arguments, stream=mode == "stream"))
    ran = nb.run(f"%chat --tools add{MODES[mode]} What is 2+3?")
    assert ran.error is None and ran.result.text == "Done."
    [told] = [m for m in rogue.seen[-1].body["messages"] if m["role"] == "tool"]
    assert told["content"].startswith("Error: ")  # the model hears what was wrong, and can correct itself
    [record] = session.ledger.records
    assert (record.usage.input_tokens, record.usage.output_tokens) == (10, 6) and not record.interrupted
