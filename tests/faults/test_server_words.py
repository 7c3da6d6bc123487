"""What the server said reaches the user: a Responses answer stopped by the content filter is marked incomplete
(not shown as whole), a stream whose first event is an `error` shows its message, and a tool result that cannot be
turned into text is reported as the tool's error, not as a crash."""
from __future__ import annotations

import json

import pytest

from tests.faults.checks import no_key, one_line
from tests.faults.rogue import Answer, chunk, completion, json_answer

USAGE = {"input_tokens": 9, "output_tokens": 2, "total_tokens": 11, "input_tokens_details": {"cached_tokens": 0},
         "output_tokens_details": {"reasoning_tokens": 0}}


def response(text="Partial", status="incomplete", reason="content_filter") -> dict:
    return {"id": "resp_1", "object": "response", "created_at": 1, "model": "gpt-4o-mini", "status": status,
            "incomplete_details": {"reason": reason} if reason else None,
            "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": status,
                        "content": [{"type": "output_text", "text": text, "annotations": []}]}],
            "usage": USAGE, "parallel_tool_calls": True, "tool_choice": "auto", "tools": []}


def streamed(body: dict) -> Answer:
    text = body["output"][0]["content"][0]["text"]
    events = [{"type": "response.created", "sequence_number": 0, "response": {**body, "status": "in_progress",
                                                                                "output": [], "usage": None}},
              {"type": "response.output_text.delta", "sequence_number": 1, "item_id": "msg_1", "output_index": 0,
               "content_index": 0, "delta": text, "logprobs": []},
              {"type": f"response.{body['status']}", "sequence_number": 2, "response": body}]
    return Answer(events=[json.dumps(e).encode() for e in events])


@pytest.fixture
def at_rogue(nb, rogue, fast):
    nb.run(f"%openai endpoint {rogue.base_url}")
    return rogue


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
@pytest.mark.parametrize("tools", [False, True], ids=["plain", "with-tools"])
def test_a_responses_answer_stopped_by_the_content_filter_is_marked_incomplete(nb, at_rogue, session, stream, tools):
    body = response()
    at_rogue.script(streamed(body) if stream else json_answer(body))
    nb.ns["f"] = lambda x: x
    line = "%chat --api responses -o r" + ("" if stream else " --no-stream") + (" --tools f" if tools else "") + " hi"
    ran = nb.run(line)
    result = nb.ns["r"]
    assert ran.error is None and result.text == "Partial"
    assert "content filter" in (result.incomplete or "") and result.finish_reason == "content_filter"
    assert len(session.ledger.records) == 1 and session.ledger.records[0].usage.output_tokens == 2


def test_a_content_filtered_answer_is_not_cached(nb, at_rogue, session, tmp_path):
    nb.run(f"%openai cache on {tmp_path / 'c.sqlite'}")
    try:
        at_rogue.script(json_answer(response()), json_answer(response("Whole.", "completed", None)))
        nb.run("%chat --api responses --no-stream -t 0 hi")
        nb.run("%chat --api responses --no-stream -t 0 -o r hi")
    finally:
        nb.run("%openai cache off")
    assert len(at_rogue.seen) == 2 and nb.ns["r"].text == "Whole." and not nb.ns["r"].incomplete


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_a_chat_completion_stopped_by_the_content_filter_is_marked_incomplete(nb, at_rogue, stream):
    if stream:
        at_rogue.script(Answer(events=[chunk("Part"), chunk(finish="content_filter"),
                                       chunk(usage={"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}),
                                       b"[DONE]"]))
    else:
        answer = completion("Part")
        answer["choices"][0]["finish_reason"] = "content_filter"
        at_rogue.script(json_answer(answer))
    ran = nb.run("%chat -o r " + ("" if stream else "--no-stream ") + "hi")
    assert ran.error is None and "content filter" in nb.ns["r"].incomplete


ERROR_EVENT = {"type": "error", "sequence_number": 0, "code": "server_is_overloaded",
               "message": "The model is overloaded right now; retry in a moment.", "param": None}


@pytest.mark.parametrize("line", ["%chat --api responses hi", "%chat --api responses --json answer in JSON",
                                  "%chat --api responses --tools f what?"], ids=["plain", "json", "tools"])
def test_a_stream_whose_first_event_is_an_error_shows_the_servers_message(nb, at_rogue, session, line):
    nb.ns["f"] = lambda x: x
    at_rogue.script(Answer(events=[json.dumps(ERROR_EVENT).encode()]))
    one_line(nb.run(line), "server_is_overloaded", "The model is overloaded right now")
    assert not session.ledger.records


def test_an_error_event_after_text_keeps_the_text_and_says_why(nb, at_rogue):
    body = response("Half an answer", "in_progress", None)
    events = [json.loads(e) for e in streamed(body).events][:2] + [ERROR_EVENT]
    at_rogue.script(Answer(events=[json.dumps(e).encode() for e in events]))
    ran = nb.run("%chat --api responses -o r hi")
    assert ran.error is None and nb.ns["r"].text == "Half an answer"
    assert "The model is overloaded" in nb.ns["r"].incomplete


def test_an_error_event_echoing_the_key_shows_no_key(nb, rogue, fast):
    from tests.faults.checks import ROGUE_KEY_ENV

    nb.run(f"%openai endpoint {rogue.base_url} --key-env {ROGUE_KEY_ENV}")
    rogue.script(lambda seen: Answer(events=[json.dumps({**ERROR_EVENT, "message": f"bad {seen.authorization}"})
                                             .encode()]))
    ran = nb.run("%chat --api responses hi")
    one_line(ran, "server_is_overloaded")


class Unprintable:
    def __str__(self):
        raise RuntimeError("no str")

    __repr__ = __str__


class Circular(dict):
    def __repr__(self):
        raise RecursionError("deep")


RESULTS = {"str-and-repr-raise": Unprintable, "circular-dict": lambda: (lambda d: (d.__setitem__("self", d), d)[1])(
    Circular()), "model-dump-raises": None}


@pytest.mark.parametrize("kind", ["str-and-repr-raise", "circular-dict", "model-dump-raises"])
@pytest.mark.parametrize("api", ["chat", "responses"])
def test_a_tool_result_that_cannot_be_printed_goes_back_as_the_tools_error(nb, offline, session, kind, api):
    if kind == "model-dump-raises":
        nb.run("from pydantic import BaseModel\nclass Weird(BaseModel):\n    x: int\n"
               "    def model_dump_json(self, **kw):\n        raise ValueError('cannot dump')\n")
        make = lambda: nb.ns["Weird"](x=1)  # noqa: E731
    else:
        make = RESULTS[kind]

    def lookup(city: str):
        """Look a city up."""
        return make()

    nb.ns["lookup"] = lookup
    ran = nb.run(f"%chat --api {api} --tools lookup -o r What is in Oslo?")
    assert ran.error is None, ran.error
    [call] = nb.ns["r"].tool_calls
    assert call.error and "cannot be turned into text" in call.result
    no_key(ran.text)


def test_a_tool_raising_an_exception_whose_str_fails_goes_back_named(nb, offline):
    class Odd(Exception):
        def __str__(self):
            raise TypeError("nope")

    def lookup(city: str):
        """Look a city up."""
        raise Odd()

    nb.ns["lookup"] = lookup
    ran = nb.run("%chat --tools lookup -o r What is in Oslo?")
    assert ran.error is None and nb.ns["r"].tool_calls[0].result == "Error: Odd"
