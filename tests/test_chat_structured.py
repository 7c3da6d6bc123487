"""%%chat --schema / --json / --tools / --dry-run / --format code, over the offline server (issue 5)."""
import json
import re

import jsonschema
import pytest

from conftest import TEST_KEY

MODELS = '''
from typing import Literal
from pydantic import BaseModel

class Address(BaseModel):
    city: str
    postcode: str

class Person(BaseModel):
    """Someone, and where they live."""
    name: str
    born: int
    address: Address
    languages: list[str]

class Point(BaseModel):
    x: float
    y: float

def get_weather(city: str, units: Literal["C", "F"] = "C") -> dict:
    """The weather now in a city.

    Args:
        city: the city's name
        units: degrees Celsius or Fahrenheit
    """
    calls.append(("get_weather", city, units))
    return {"city": city, "temperature": 21, "units": units}

def get_population(city: str) -> int:
    """How many people live in a city."""
    calls.append(("get_population", city))
    return 2_102_650

def census(city: str) -> int:
    """Raises: there is no census service offline."""
    raise ConnectionError("census service unreachable")

def distance(a: Point, b: Point) -> float:
    """Distance between two points."""
    calls.append(("distance", type(a).__name__, type(b).__name__))
    return ((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5

calls = []
'''


@pytest.fixture
def defs(nb):
    nb.run(MODELS)
    return nb


def chat_requests(offline):
    return [r for r in offline.requests if r.path.endswith("/chat/completions")]


def all_valid(offline):
    """Every body passed the server's OpenAPI validation (a violation is a 400)."""
    statuses = [r.status for r in chat_requests(offline)]
    return statuses and all(s == 200 for s in statuses)


def test_schema_with_a_nested_pydantic_model_yields_an_instance(defs, offline):
    ran = defs.run("%%chat --schema Person -o ada\nWho was Ada Lovelace?")
    assert ran.error is None
    ada = defs.ns["ada"]
    assert type(ada).__name__ == "Person" and type(ada.address).__name__ == "Address"
    assert isinstance(ada.born, int) and isinstance(ada.languages, list)
    fmt = chat_requests(offline)[-1].body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Person" and fmt["json_schema"]["strict"]
    shown = ran.outputs[-1]["text/markdown"]
    assert shown.startswith("**Person**") and '"address": {' in shown  # nested: readable JSON
    assert ran.result.parsed is ada and json.loads(ran.result.text) == ada.model_dump()
    assert all_valid(offline)


def test_schema_non_streamed_too_and_a_flat_model_is_a_table(defs, offline):
    ran = defs.run("%%chat --schema Point --no-stream -o p\nA point")
    assert type(defs.ns["p"]).__name__ == "Point"
    assert "| field | value |" in ran.outputs[-1]["text/markdown"] and "| x | " in ran.outputs[-1]["text/markdown"]
    assert not chat_requests(offline)[-1].body.get("stream") and all_valid(offline)


def test_a_json_schema_dict_works(nb, offline):
    nb.ns["city_schema"] = schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "population": {"type": "integer", "minimum": 1000},
                       "founded": {"type": "string", "format": "date"},
                       "districts": {"type": "array", "items": {"type": "string"}, "minItems": 3},
                       "kind": {"enum": ["city", "town"]}},
        "required": ["name", "population", "founded", "districts", "kind"],
        "additionalProperties": False,
    }
    ran = nb.run("%%chat --schema city_schema -o city\nDescribe Lyon")
    city = nb.ns["city"]
    jsonschema.validate(city, schema)
    assert city["population"] >= 1000 and len(city["districts"]) >= 3
    sent = chat_requests(offline)[-1].body["response_format"]["json_schema"]
    assert sent == {"name": "city_schema", "schema": schema, "strict": True}
    assert "| population |" in ran.outputs[-1]["text/markdown"] and all_valid(offline)


def test_a_loose_json_schema_dict_is_sent_non_strict(nb, offline):
    nb.ns["loose"] = {"type": "object", "properties": {"title": {"type": "string"}}}
    nb.run("%%chat --schema loose --no-stream -o x\nA title")
    assert chat_requests(offline)[-1].body["response_format"]["json_schema"]["strict"] is False
    assert nb.ns["x"] == {"title": "title"} and all_valid(offline)


def test_json_mode_parses_into_python(nb, offline):
    ran = nb.run("%%chat --json -o data\nGive me JSON about Paris")
    assert isinstance(nb.ns["data"], dict) and nb.ns["data"]["answer"].startswith("Give me JSON")
    assert chat_requests(offline)[-1].body["response_format"] == {"type": "json_object"}
    assert "| answer |" in ran.outputs[-1]["text/markdown"] and all_valid(offline)


def test_json_mode_without_the_word_json_is_one_line_and_sends_nothing(nb, offline):
    ran = nb.run("%%chat --json\nTell me about Paris")
    assert "UsageError" in ran.stderr and "JSON" in ran.stderr and len(ran.stderr.strip().splitlines()) == 1
    assert chat_requests(offline) == []


def test_a_refusal_is_shown_as_a_refusal(defs, offline):
    ran = defs.run("%%chat --schema Person -o who\nSomething I should not ask (offline: refuse)")
    assert defs.ns["who"] is None and ran.result.refusal.startswith("I'm sorry")
    assert ran.outputs[-1]["text/markdown"].startswith("**Refused:** I&#x27;m sorry")


def test_tools_run_two_rounds_with_a_parallel_call_and_the_answer_uses_the_results(defs, offline, session):
    ran = defs.run("%%chat --tools get_weather,get_population\nWhat is the weather in Paris, and how big is it?")
    assert ran.error is None
    first, second = chat_requests(offline)
    offered = [t["function"]["name"] for t in first.body["tools"]]
    assert offered == ["get_weather", "get_population"] and all(t["function"]["strict"] for t in first.body["tools"])
    weather = first.body["tools"][0]["function"]
    assert weather["description"] == "The weather now in a city."
    assert weather["parameters"]["properties"]["city"]["description"] == "the city's name"
    assert weather["parameters"]["properties"]["units"]["enum"] == ["C", "F"]
    assert defs.ns["calls"] == [("get_weather", "Paris", "C"), ("get_population", "Paris")]  # both, one round
    assistant, *results = second.body["messages"][1:]
    assert len(assistant["tool_calls"]) == 2 and [r["role"] for r in results] == ["tool", "tool"]
    assert results[1]["content"] == "2102650"
    answer = ran.result.text
    assert '"temperature": 21' in answer and "2102650" in answer  # the final answer uses the results
    shown = ran.outputs[-1]["text/markdown"]
    assert shown.count("<details ") == 2 and "get_weather(city=&quot;Paris&quot;, units=&quot;C&quot;)" in shown
    assert "<b>tool</b> <code>get_weather" in shown and re.search(r" · \d+ ms</summary>", shown)
    assert not re.search("[\U0001F300-\U0001FAFF\u23F1]", shown)  # no emoji, which need a font to show
    # all rounds land in the ledger as one record for the cell, with the usage of both requests
    records = session.ledger.records
    assert len(records) == 1 and records[0].usage.input_tokens > 0
    assert all_valid(offline)


def test_usage_of_all_rounds_adds_up(defs, offline, session):
    defs.run("%%chat --tools get_population --no-stream\nHow many live in Oslo?")
    assert len(chat_requests(offline)) == 2
    assert session.ledger.records[-1].usage.output_tokens > 0
    assert defs.ns["calls"] == [("get_population", "Oslo")]


def test_a_tool_that_raises_is_reported_to_the_model_and_the_cell_completes(defs, offline):
    ran = defs.run("%%chat --tools census\nHow many people live in Rome?")
    assert ran.error is None
    tool_message = chat_requests(offline)[-1].body["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"] == "Error: ConnectionError: census service unreachable"
    assert "census service unreachable" in ran.result.text
    assert ran.result.tool_calls[0].error and "<b>tool error</b>" in ran.outputs[-1]["text/markdown"]


def test_tool_arguments_are_validated_into_pydantic_models(defs, offline):
    ran = defs.run("%%chat --tools distance --no-stream\nHow far apart?")
    assert defs.ns["calls"] == [("distance", "Point", "Point")]
    assert ran.result.tool_calls[0].value == 0.0 and all_valid(offline)


def test_the_round_limit_stops_the_loop_and_says_so(defs, offline):
    ran = defs.run("%%chat --tools get_population --max-rounds 2\nAsk Oslo (offline: 5 tool rounds)")
    assert len(chat_requests(offline)) == 2
    assert "2 rounds of tool calls" in ran.result.incomplete
    assert "Incomplete answer" in ran.outputs[-1]["text/markdown"]


def test_tools_with_a_schema_answer_in_the_schema(defs, offline):
    defs.run("%%chat --tools get_weather --schema Point -o p\nWeather in Paris as a point")
    assert len(chat_requests(offline)) == 2 and type(defs.ns["p"]).__name__ == "Point"


@pytest.mark.parametrize("line, says", [
    ("--schema Nobody", "--schema Nobody: no such variable"),
    ("--schema calls", "not a list"),
    ("--tools get_weather,nothing", "--tools nothing: no such function"),
    ("--tools calls", "--tools calls: a list is not a function"),
    ("--tools Point", "not a function"),
    ("--schema Person --json", "pick one"),
    ("--max-rounds 0 --tools get_weather", "--max-rounds must be positive"),
])
def test_bad_options_are_one_line_and_send_nothing(defs, offline, line, says):
    ran = defs.run(f"%%chat {line}\nHi JSON")
    assert "UsageError" in ran.stderr and says in ran.stderr, ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1 and "Traceback" not in ran.stderr
    assert offline.requests == []


def test_dry_run_sends_nothing_and_shows_body_tokens_and_worst_case(defs, offline, session):
    ran = defs.run("%%chat --dry-run --tools get_weather --schema Person --max-tokens 100 -o plan\nWho is Ada?")
    assert offline.requests == [] and len(session.ledger) == 0
    plan = defs.ns["plan"]
    assert plan.body["tools"][0]["function"]["name"] == "get_weather"
    assert plan.body["response_format"]["json_schema"]["name"] == "Person"  # as the SDK would send it
    assert plan.body["messages"] == [{"role": "user", "content": "Who is Ada?"}]
    assert plan.max_output == 100 and plan.worst_case > 0
    shown = ran.outputs[-1]["text/markdown"]
    assert shown.startswith("**Dry run** · POST `/chat/completions`")
    assert "tokens in · up to 100 out · worst case ≈&#36;" in shown and "nothing sent" in shown
    lines = plan.shown_body().count("\n") + 1  # screens of JSON with tools and a schema: folded
    assert f"<details><summary>the body: {lines:,} lines of JSON</summary>\n\n```json\n" in shown and lines > 20
    short = defs.run("%%chat --dry-run\nWho is Ada?").outputs[-1]["text/markdown"]
    assert "<details>" not in short and "```json\n{" in short  # a short body stays open


def test_dry_run_counts_what_the_server_then_charges(defs, offline, session):
    plan = defs.run("%%chat --dry-run --tools get_weather\nWeather in Paris?").result
    defs.run("%%chat --tools get_weather --max-rounds 1\nWeather in Paris?")
    assert [r.status for r in chat_requests(offline)] == [200]
    assert session.ledger.records[-1].usage.input_tokens == plan.input_tokens.tokens


def test_dry_run_needs_no_key_and_no_client(nb, session):
    session.configure(base_url=None, api_key=None, offline=False)
    ran = nb.run("%%chat --dry-run -m gpt-4o\nHello")
    assert ran.error is None and session._client is None
    assert ran.result.api == "responses" and ran.result.body["input"] == [{"role": "user", "content": "Hello"}]
    assert "nothing sent" in ran.outputs[-1]["text/markdown"]


CODE_CELL = '# The code of the %%chat --format code answer above\nprint("hello from the offline server")'


def test_format_code_run_again_does_not_add_a_second_cell(nb, offline):
    nb.shell.rl_next_input = None
    first = nb.run("%%chat --format code --no-stream\nWrite hello world", cell_id="code-cell")
    assert first.error is None and nb.shell.rl_next_input == CODE_CELL
    nb.shell.rl_next_input = None
    again = nb.run("%%chat --format code --no-stream\nWrite hello world", cell_id="code-cell")
    assert again.error is None and nb.shell.rl_next_input is None  # no second inserted cell
    assert "a kernel cannot replace that cell, so it is not inserted again" in again.stdout
    nb.run("%%chat --format code --no-stream\nWrite hello world", cell_id="another-cell")
    assert nb.shell.rl_next_input == CODE_CELL  # another cell gets its own


def _saved_notebook(tmp_path, below: str) -> str:
    import nbformat

    cells = [nbformat.v4.new_code_cell("%%chat --format code --no-stream\nWrite hello world", id="code-cell"),
             nbformat.v4.new_code_cell(below, id="below")]
    path = tmp_path / "lesson.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return str(path)


def test_format_code_in_a_fresh_kernel_does_not_add_a_cell_below_the_one_it_added_before(nb, offline, tmp_path,
                                                                                         monkeypatch):
    """Run All, save, reopen, Run All: the new kernel knows nothing of the first, the saved notebook does."""
    monkeypatch.setenv("JPY_SESSION_NAME", _saved_notebook(tmp_path, CODE_CELL))  # as Jupyter's server sets it
    nb.shell.rl_next_input = None
    ran = nb.run("%%chat --format code --no-stream\nWrite hello world", cell_id="code-cell")
    assert ran.error is None and nb.shell.rl_next_input is None
    assert "inserted on an earlier run is in the cell below" in ran.stdout
    assert "hello from the offline server" in ran.outputs[-1]["text/markdown"]  # the answer still shows


def test_format_code_inserts_below_a_saved_cell_that_it_did_not_insert(nb, offline, tmp_path, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", _saved_notebook(tmp_path, 'print("my own code")'))
    nb.shell.rl_next_input = None
    ran = nb.run("%%chat --format code --no-stream\nWrite hello world", cell_id="code-cell")
    assert ran.error is None and nb.shell.rl_next_input == CODE_CELL and "earlier run" not in ran.stdout


def test_format_code_puts_the_answers_code_into_a_new_cell(nb, offline):
    nb.shell.rl_next_input = None
    ran = nb.run("%%chat --format code --no-stream\nWrite hello world")
    assert ran.error is None
    assert nb.shell.rl_next_input == CODE_CELL


def test_key_never_in_a_dry_run(nb):
    ran = nb.run("%%chat --dry-run\nHi")
    assert TEST_KEY not in ran.text + repr(ran.result.body)


def test_a_cached_structured_answer_replays_as_the_object(defs, offline, session, tmp_path):
    defs.run(f"%openai cache on {tmp_path / 'cache.sqlite'}")
    try:
        defs.run("%%chat --schema Person -t 0 --no-stream -o first\nWho was Ada Lovelace?")
        ran = defs.run("%%chat --schema Person -t 0 --no-stream -o again\nWho was Ada Lovelace?")
        assert len(chat_requests(offline)) == 1 and session.ledger.records[-1].cache_hit
        assert defs.ns["again"] == defs.ns["first"] and type(defs.ns["again"]).__name__ == "Person"
        assert ran.outputs[-1]["text/markdown"].startswith("**Person**")
    finally:
        defs.run("%openai cache off")


def test_the_offline_model_fills_rich_schemas_validly(nb, offline):
    nb.run('''
from datetime import date
from enum import Enum
from typing import Literal, Optional
from pydantic import BaseModel, Field

class Colour(str, Enum):
    red = "red"
    blue = "blue"

class Line(BaseModel):
    sku: str = Field(min_length=5, max_length=8)
    quantity: int = Field(ge=10, le=20)
    price: float = Field(gt=0, lt=1)

class Order(BaseModel):
    placed: date
    colour: Colour
    kind: Literal["retail", "trade"]
    note: Optional[str]
    lines: list[Line] = Field(min_length=3)
''')
    ran = nb.run("%%chat --schema Order -o order\nAn order")
    order = nb.ns["order"]
    assert type(order).__name__ == "Order" and len(order.lines) >= 3 and order.colour.value in ("red", "blue")
    assert all(10 <= line.quantity <= 20 and 0 < line.price < 1 for line in order.lines)
    assert ran.error is None and all_valid(offline)


def test_a_function_whose_types_cannot_be_described_is_one_line(nb, offline):
    nb.run("class Opaque: pass\ndef inspect_it(thing: Opaque) -> str:\n    return 'x'")
    ran = nb.run("%%chat --tools inspect_it\nGo")
    assert "UsageError" in ran.stderr and "--tools inspect_it: its signature cannot become a tool schema" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1 and offline.requests == []
