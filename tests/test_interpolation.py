"""`{…}` in a prompt: notebook expressions filled in once, everything else sent byte for byte."""
import pytest


def sent(nb, offline, body: str, options: str = "") -> str:
    ran = nb.run(f"%%chat --no-stream {options}\n{body}")
    assert ran.error is None, ran.text
    return offline.requests[-1].body["messages"][-1]["content"]


@pytest.fixture
def data(nb):
    nb.run("import pandas as pd\n"
           "df = pd.DataFrame({'city': ['Oslo', 'Lima'], 'people': [709000, 10000000]})\n"
           "rows = [1, 2, 3]\nx = 'Ada'\nsneaky = '{x}'")
    return nb


@pytest.mark.parametrize("body, expected", [
    ("Hello {x}", "Hello Ada"),
    ("{len(rows)} rows", "3 rows"),
    ("Columns: {df.columns.tolist()}", "Columns: ['city', 'people']"),
    ('{"name": "{x}"}', '{"name": "Ada"}'),
])
def test_notebook_expressions_are_filled_in(data, offline, body, expected):
    assert sent(data, offline, body) == expected


def test_a_dataframe_arrives_as_its_text(data, offline):
    assert sent(data, offline, "Summarise:\n{df.head()}") == "Summarise:\n" + str(data.ns["df"].head())


@pytest.mark.parametrize("body", [
    'Reply as {"a": 1}',
    'Nested: {"a": {"b": 1}}',
    "A set {1, 2}",
    "Code: def f(d): return {k: v for k, v in d.items()}",
    "JS: if (ok) { return {done: true}; }",
    "Builtins alone stay: {print}",
    "Stray braces }} and {{ and {",
    '{"ok": true, "n": null}',
])
def test_json_sets_and_code_are_sent_byte_for_byte(data, offline, body):
    ran = data.run(f"%%chat --no-stream\n{body}")
    assert offline.requests[-1].body["messages"][-1]["content"] == body
    assert "left as written" not in ran.stdout


def test_double_braces_send_a_literal_group(data, offline):
    assert sent(data, offline, "{{x}} is {x}") == "{x} is Ada"


def test_never_interpolated_twice(data, offline):
    assert sent(data, offline, "{sneaky}") == "{x}"


def test_an_undefined_name_is_sent_as_written_and_the_cell_says_so(data, offline):
    ran = data.run("%%chat --no-stream\nHi {nmae}, {x}")
    assert offline.requests[-1].body["messages"][-1]["content"] == "Hi {nmae}, Ada"
    assert ran.stdout.splitlines()[0] == "left as written: {nmae}"


def test_an_expression_that_raises_is_one_line_and_sends_nothing(data, offline, session):
    ran = data.run("%%chat\nTop: {df['nope']}")
    assert "UsageError" in ran.stderr and "{df['nope']} raised KeyError" in ran.stderr
    assert "Traceback" not in ran.stderr + ran.stdout
    assert offline.requests == [] and len(session.ledger) == 0


def test_no_interpolate_sends_everything_as_written(data, offline):
    assert sent(data, offline, "{x} {{x}} {nmae}", "--no-interpolate") == "{x} {{x}} {nmae}"


def test_option_values_are_interpolated_too(data, offline):
    data.run("%%chat --no-stream -s 'Address {x}.'\nHi")
    assert offline.requests[-1].body["messages"][0] == {"role": "system", "content": "Address Ada."}
