"""Structured outputs: a schema that cannot work is one line that says what is wrong (before sending when we
can tell), and an answer that is not JSON is reported as such, its text and its cost kept."""
from __future__ import annotations

import pytest
from pydantic import BaseModel

from tests.faults.checks import no_key, one_line
from tests.faults.rogue import Answer, chunk, completion, json_answer

CLOSED = {"additionalProperties": False}

REFUSED_BEFORE_SENDING = {
    "empty": ({}, "the schema is empty", "--json"),
    "empty-wrapped": ({"name": "S", "schema": {}}, "the schema is empty"),
    "no-type": ({"properties": {"a": {"type": "string"}}}, '"type": "object"'),
    "not-an-object": ({"type": "array", "items": {"type": "string"}}, '"type": "object"'),
    "unknown-type": ({"type": "object", "properties": {"x": {"type": "foo"}}}, "not a valid JSON schema",
                     "properties/x/type"),
    "ref-to-nowhere": ({"type": "object", "properties": {"x": {"$ref": "#/$defs/Nope"}}}, "$ref '#/$defs/Nope'",
                       "points nowhere"),
}


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize("name", list(REFUSED_BEFORE_SENDING))
def test_a_schema_that_cannot_work_is_refused_before_sending(nb, offline, name, api):
    schema, *says = REFUSED_BEFORE_SENDING[name]
    nb.ns["S"] = schema
    one_line(nb.run(f"%chat --api {api} --schema S -o r A thing, in JSON."), "--schema S", *says)
    assert not offline.requests and "r" not in nb.ns


def test_a_schema_written_in_the_line_says_to_name_a_variable(nb, offline):
    one_line(nb.run("%chat --schema {} A thing, in JSON."), "name of a variable")
    assert not offline.requests


UNMAKEABLE = {
    "empty-enum": ({"type": "object", "properties": {"x": {"enum": []}}, "required": ["x"], **CLOSED},
                   "an empty enum allows no value"),
    "holds-itself": ({"type": "object", "properties": {"x": {"$ref": "#"}}, "required": ["x"], **CLOSED},
                     "nests without end"),
}


@pytest.mark.parametrize("line", ["%chat --schema S hi", "%chat --schema S --no-stream hi",
                                  "%chat --api responses --schema S hi"], ids=["stream", "no-stream", "responses"])
@pytest.mark.parametrize("name", list(UNMAKEABLE))
def test_a_schema_the_offline_server_cannot_instantiate_says_so_at_once(nb, offline, session, capfd, name, line):
    schema, why = UNMAKEABLE[name]
    nb.ns["S"] = schema
    shown = one_line(nb.run(line), "Invalid schema for response_format 'S'", "cannot make an example", why)
    assert "Could not reach" not in shown and "retried" not in shown
    assert [r.status for r in offline.requests] == [400]  # refused once, not retried
    assert not session.ledger.records
    assert "Traceback" not in capfd.readouterr().err  # the server printed nothing


@pytest.mark.parametrize("schema, expected", [
    ({"type": "object", "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}},
      "required": ["name", "children"], **CLOSED}, lambda v: v["children"] and v["children"][0]["children"] == []),
    ({"type": "object", "properties": {"v": {"type": "integer"}, "next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}},
      "required": ["v", "next"], **CLOSED}, lambda v: v["next"]["next"] is None),
], ids=["tree", "linked-list"])
def test_a_recursive_schema_with_a_way_out_gets_an_example(nb, offline, schema, expected):
    nb.ns["S"] = schema
    ran = nb.run("%chat --schema S -o value A thing, in JSON.")
    assert ran.error is None and expected(nb.ns["value"])


class Point(BaseModel):
    x: float


POINT = {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"], **CLOSED}
USAGE = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
NOT_JSON = {
    "stream": Answer(events=[chunk("Sure! "), chunk("x is 3"), chunk(finish="stop"), chunk(usage=USAGE), b"[DONE]"]),
    "no-stream": json_answer(completion("Sure! x is 3", usage=USAGE)),
    "half-json": Answer(events=[chunk('{"x": '), chunk(finish="stop"), chunk(usage=USAGE), b"[DONE]"]),
}


@pytest.mark.parametrize("schema", ["model", "dict"])
@pytest.mark.parametrize("answer", list(NOT_JSON))
def test_a_structured_answer_that_is_not_json_says_so_and_keeps_text_and_cost(nb, rogue, fast, session, answer,
                                                                             schema):
    nb.ns["S"] = Point if schema == "model" else POINT
    nb.run(f"%openai endpoint {rogue.base_url} --bills openai")
    rogue.script(NOT_JSON[answer])
    ran = nb.run(f"%chat --schema S{' --no-stream' if answer == 'no-stream' else ''} A point.")
    assert ran.error is None
    result = ran.result
    assert "not valid JSON" in result.incomplete and "stream was cut" not in result.incomplete
    assert result.text == ("Sure! x is 3" if answer != "half-json" else '{"x": ') and result.parsed is None
    [record] = session.ledger.records
    assert (record.usage.input_tokens, record.usage.output_tokens) == (5, 3) and not record.estimated
    no_key(ran.text)


def test_a_structured_answer_that_does_not_match_the_model_says_so(nb, rogue, fast):
    nb.ns["S"] = Point
    nb.run(f"%openai endpoint {rogue.base_url}")
    rogue.script(json_answer(completion('{"y": 1}')))
    ran = nb.run("%chat --schema S --no-stream A point.")
    assert ran.error is None and "does not match Point" in ran.result.incomplete and ran.result.text == '{"y": 1}'
