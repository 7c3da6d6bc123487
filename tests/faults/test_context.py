"""`%fix`, `%explain` and `--context`: bad input is one line with nothing sent; a hostile or unhelpful answer is
one line or a result that says so; no byte of the key leaves in a traceback, a frame's locals or a summary."""
from __future__ import annotations

import sys

import pytest

from conftest import TEST_KEY
from tests.faults.checks import ROGUE_KEY_ENV, no_key, one_line
from tests.faults.rogue import Answer, chunk, json_answer


def fail(nb, cell: str) -> None:
    from IPython.utils.capture import capture_output

    with capture_output():  # IPython's own traceback of the user's cell (it may show the key: the user's view)
        nb.shell.run_cell(cell, store_history=True)


def at_rogue(nb, rogue) -> None:
    """The rogue server as the endpoint, holding the key (`endpoint_key`), as a proxy does."""
    assert nb.run(f"%openai endpoint {rogue.base_url} --key-env {ROGUE_KEY_ENV}").error is None


def no_key_sent(bodies) -> None:
    for body in bodies:
        no_key(body)
        assert TEST_KEY[-12:] not in str(body), "the end of the API key was sent"


@pytest.mark.parametrize("line", ["%fix", "%explain", "%fix why does it fail?", "%fix --dry-run", "%explain -q"])
def test_fix_or_explain_with_no_earlier_error_is_one_line(nb, offline, line):
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            delattr(sys, name)
    one_line(nb.run(line), "No error to fix")
    assert offline.requests == []


@pytest.mark.parametrize("cell", [
    "%%chat --context nope\nhi",
    "%chat --context nope hi",
    "%%chat --context df,nope --dry-run\nhi",
    "%%chat --over rows --context nope\n{item}",
    "%%chat --context ,\nhi",
    "%%chat --context-tokens 100\nhi",
    "%%chat --context df --context-tokens 0\nhi",
    "%%chat --context df --context-tokens -3\nhi",
    "%fix --context-tokens 0",
], ids=["unknown", "line", "one-of-two", "over", "empty", "tokens-alone", "tokens-0", "tokens-negative", "fix-tokens"])
def test_bad_context_is_one_line_and_nothing_is_sent(nb, offline, cell):
    nb.run("df = {'a': 1}\nrows = ['x', 'y']")
    fail(nb, "undefined_name")
    one_line(nb.run(cell))
    assert offline.requests == []


@pytest.mark.parametrize("xmode", ["Context", "Verbose"])
def test_a_frame_holding_the_key_sends_no_byte_of_it(nb, rogue, fast, xmode):
    at_rogue(nb, rogue)
    rogue.script(Answer(events=[chunk("```python\nconnect()\n```"), chunk(finish="stop"), b"[DONE]"]))
    nb.run("import os")
    nb.run(f"%xmode {xmode}")
    try:
        fail(nb, "def connect():\n"
                 f"    key = os.environ['{ROGUE_KEY_ENV}']\n"
                 "    header = 'Authorization: Bearer ' + key\n"
                 "    long = '-' * 70 + key\n"
                 "    raise RuntimeError('refused')\n"
                 "connect()")
        ran = nb.run("%fix")
    finally:
        nb.run("%xmode Context")
    assert ran.error is None and len(rogue.seen) == 1
    no_key_sent([rogue.seen[0].body])
    assert "RuntimeError: refused" in str(rogue.seen[0].body)


@pytest.mark.parametrize("holder", [
    "secret = {'api_key': os.environ[KEY_ENV], 'n': 1}",
    "secret = 'x' * 30 + os.environ[KEY_ENV]",
    "secret = ['token', os.environ[KEY_ENV]]",
    "class Holder:\n    def __repr__(self):\n        return 'Holder(' + os.environ[KEY_ENV] + ')'\nsecret = Holder()",
], ids=["dict", "string", "list", "repr"])
def test_a_context_variable_holding_the_key_sends_no_byte_of_it(nb, rogue, fast, holder):
    at_rogue(nb, rogue)
    rogue.script(json_answer({"id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
                              "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                                           "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}}))
    nb.run(f"import os\nKEY_ENV = {ROGUE_KEY_ENV!r}\n{holder}")
    ran = nb.run("%%chat --context secret --no-stream\nWhat is this?")
    assert ran.error is None and len(rogue.seen) == 1
    no_key_sent([rogue.seen[0].body])
    assert "secret: " in str(rogue.seen[0].body)


@pytest.mark.parametrize("events, said", [
    ([chunk("I cannot see what is wrong."), chunk(finish="stop")],
     "holds no corrected cell: nothing was put in the next input"),
    ([chunk("```python\nx = 1\n```\nand then"), chunk(finish="length")], "The answer is incomplete ("),
], ids=["no-corrected-cell", "cut-at-the-token-limit"])
def test_a_fix_without_a_whole_corrected_cell_leaves_the_next_input_alone(nb, rogue, fast, events, said):
    at_rogue(nb, rogue)
    rogue.script(Answer(events=[*events, b"[DONE]"]))
    fail(nb, "undefined_name")
    nb.shell.rl_next_input = None
    ran = nb.run("%fix")
    assert ran.error is None and nb.shell.rl_next_input is None
    assert said in ran.stdout and "nothing was put in the next input" in ran.stdout


@pytest.mark.parametrize("answer", [
    Answer(status=200, body=b"<html>gateway</html>", content_type="text/html"),
    Answer(status=200, body=b"{not json"),
    Answer(events=[b"{broken"]),
], ids=["html", "not-json", "broken-event"])
def test_a_broken_answer_to_fix_is_one_line(nb, rogue, fast, answer):
    at_rogue(nb, rogue)
    rogue.script(answer)
    fail(nb, "undefined_name")
    nb.shell.rl_next_input = None
    one_line(nb.run("%fix"))
    assert nb.shell.rl_next_input is None


@pytest.mark.parametrize("line", ["--context nope", "--context-tokens 50", "--context df --context-tokens 0",
                                  "--context df --to-openai"], ids=["unknown", "tokens-alone", "tokens-0", "to-openai"])
def test_bad_eval_context_is_one_line_and_nothing_is_sent(nb, offline, line):
    nb.run("df = {'a': 1}\nrows = [{'text': 'x', 'label': 'x'}]")
    one_line(nb.run(f"%%eval --data rows --expect label --grader contains {line}\nSay {{text}}"))
    assert offline.requests == []


def test_a_fix_over_the_budget_is_one_line_and_nothing_is_sent(nb, offline, session):
    from decimal import Decimal

    nb.run("df = {'a': 1}")
    fail(nb, "dff")
    session.budget = Decimal("0.0000001")
    try:
        one_line(nb.run("%fix --no-cache"), "budget")
    finally:
        session.budget = None
    assert offline.requests == [] and session.ledger.records == []
