"""The notebook as context: `%fix` / `%explain` read the last error, `--context NAME` summarises variables."""
import sys

import pytest

from conftest import TEST_KEY


def forget_errors():
    """A kernel that has shown no error yet (the shared test shell keeps the last one of any earlier test)."""
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            delattr(sys, name)


def fail(nb, cell: str):
    """Run a cell that raises, as a user would; what it shows is IPython's own traceback (not checked here)."""
    from IPython.utils.capture import capture_output

    with capture_output():
        result = nb.shell.run_cell(cell, store_history=True)
    assert result.error_in_exec is not None or result.error_before_exec is not None


def sent(offline) -> str:
    """The user message of the one request the server received."""
    (request,) = offline.requests
    return request.body["messages"][-1]["content"]


@pytest.fixture
def frame(nb):
    nb.run("import pandas as pd\ndf = pd.DataFrame({'price': [3.5, 4.0, 5.25], 'city': ['Oslo', 'Lima', 'Pune']})")
    return nb


def test_fix_after_a_name_error_sends_the_cell_and_error_and_puts_a_corrected_cell_in_the_next_input(
        frame, offline, session):
    nb = frame
    fail(nb, "total = dff['price'].sum()\nprint(total)")
    nb.shell.rl_next_input = None
    ran = nb.run("%fix")
    assert ran.error is None
    message = sent(offline)
    assert "total = dff['price'].sum()\nprint(total)" in message               # the cell's source
    assert "NameError: name 'dff' is not defined" in message                    # the error
    assert "Cell In[" in message and "df: pandas DataFrame, 3 rows × 2 columns" in message  # trace, close variable
    assert "`dff` is a misspelling of `df`" in ran.result.text
    assert nb.shell.rl_next_input == "total = df['price'].sum()\nprint(total)"  # the payload set_next_input makes
    assert "The corrected cell is in the next input" in ran.stdout
    assert session.ledger.records[-1].magic == "fix" and session.ledger.records[-1].cost > 0
    nb.shell.rl_next_input = None


def test_fix_never_runs_the_corrected_cell(frame, offline):
    nb = frame
    fail(nb, "total = dff['price'].sum()")
    nb.shell.rl_next_input = None
    nb.run("%fix")
    assert "total" not in nb.ns and nb.shell.rl_next_input == "total = df['price'].sum()"
    nb.shell.rl_next_input = None


def test_fix_with_no_earlier_error_is_one_line_and_sends_nothing(nb, offline):
    forget_errors()
    ran = nb.run("%fix")
    assert isinstance(ran.error, Exception) and "No error to fix" in (ran.stdout + ran.stderr)
    again = nb.run("%explain")  # the first refusal is not itself an error to explain
    assert "No error to fix" in (again.stdout + again.stderr)
    assert offline.requests == []


def test_explain_answers_in_prose_and_leaves_the_next_input_alone(frame, offline, session):
    nb = frame
    fail(nb, "dff.describe()")
    nb.shell.rl_next_input = None
    ran = nb.run("%explain why does this fail?")
    assert ran.error is None and "misspelling of `df`" in ran.result.text and "```" not in ran.result.text
    assert "My question: why does this fail?" in sent(offline)
    assert nb.shell.rl_next_input is None and session.ledger.records[-1].magic == "explain"


def test_fix_of_a_function_defined_in_another_cell_shows_both_frames(frame, offline):
    nb = frame
    nb.run("def mean_price(frame):\n    return frame['pricee'].mean()")
    fail(nb, "mean_price(df)")
    nb.run("%fix --dry-run")
    (plan,) = [nb.shell.user_ns["_"]]
    text = plan.body["messages"][-1]["content"]
    assert "mean_price(df)" in text and "in mean_price" in text and "return frame['pricee'].mean()" in text
    assert "KeyError: 'pricee'" in text and "mean_price: function" in text and offline.requests == []


@pytest.mark.parametrize("xmode", ["Context", "Verbose"])
def test_a_key_in_a_traceback_frame_is_never_sent(nb, offline, xmode):
    """A frame's locals (shown under %xmode Verbose) hold the key, whole and cut short: not a byte is sent."""
    nb.run("import openai_magics")
    nb.run(f"%xmode {xmode}")
    try:
        fail(nb, "def connect():\n"
                 "    key = openai_magics.session().config.api_key.reveal()\n"
                 "    padded = 'x' * 60 + key\n"
                 "    settings = {'api_key': key}\n"
                 "    return undefined_thing\n"
                 "connect()")
        ran = nb.run("%fix what is wrong?")
    finally:
        nb.run("%xmode Context")
    assert ran.error is None
    body = str(offline.requests[0].body)
    assert TEST_KEY not in body and TEST_KEY[8:24] not in body and TEST_KEY[-12:] not in body
    if xmode == "Verbose":  # the locals were sent, the key taken out of them
        assert "padded = 'xxxx" in body and "sk-…(redacted)" in body


def test_a_key_in_a_variable_the_cell_uses_is_never_sent(nb, offline):
    nb.run("import openai_magics\nconfig = {'key': openai_magics.session().config.api_key.reveal(), 'n': 1}")
    fail(nb, "config['keyy']")
    nb.run("%explain")
    body = str(offline.requests[0].body)
    assert "config: dict, 2 keys" in body and TEST_KEY not in body and TEST_KEY[8:24] not in body


def million_rows(nb):
    nb.run("import numpy as np, pandas as pd\n"
           "rng = np.random.default_rng(0)\n"
           "df = pd.DataFrame({'id': np.arange(1_000_000), 'price': rng.normal(10, 2, 1_000_000),\n"
           "                   'qty': rng.integers(0, 100, 1_000_000),\n"
           "                   'city': rng.choice(['Oslo', 'Lima', 'Pune'], 1_000_000)})\n"
           "df.loc[::100, 'price'] = np.nan")


def test_context_of_a_million_row_dataframe_stays_within_the_token_budget(nb, offline):
    from openai_magics.facts.tokens import count_text

    million_rows(nb)
    ran = nb.run("%%chat --context df --context-tokens 300 --no-stream\nHow many rows are there?")
    assert ran.error is None and "`df` is a DataFrame of 1,000,000 rows × 4 columns" in ran.result.text
    message = sent(offline)
    summaries = message.rsplit("\n\nHow many rows are there?", 1)[0]
    assert count_text(summaries, "gpt-4o-mini").tokens <= 300
    assert "shape (1000000, 4)" in summaries and "price: float64, 10,000 nulls" in summaries


def test_a_wide_context_is_cut_to_the_budget_and_says_so(nb, offline):
    from openai_magics.facts.tokens import count_text

    million_rows(nb)
    nb.run("notes = 'word ' * 5000")
    ran = nb.run("%%chat --context df,notes --context-tokens 200 --dry-run\nWhat is in notes?")
    context = ran.result.context
    assert context.names == ("df", "notes") and context.tokens <= 200
    assert count_text(context.text, "gpt-4o-mini").tokens <= 200 and "cut to fit the context budget" in context.text
    assert offline.requests == []


def test_dry_run_shows_the_summary_and_its_tokens(frame, offline):
    ran = frame.run("%%chat --context df --dry-run\nWhich city is cheapest?")
    shown = ran.outputs[-1]["text/markdown"]
    assert "Context: df · " in shown and "tokens of a 2,000-token budget, as sent" in shown
    assert "df: pandas DataFrame, 3 rows × 2 columns (shape (3, 2))" in shown and "first 3 rows:" in shown
    assert "describe() of the numeric columns" in shown and ran.result.body["messages"][-1]["content"].endswith(
        "Which city is cheapest?")
    assert offline.requests == []


def test_context_cache_hits_for_the_same_variables_and_misses_after_the_dataframe_changes(frame, offline, tmp_path):
    nb = frame
    nb.run(f"%openai cache on {tmp_path / 'answers.sqlite'}")
    cell = "%%chat --context df --no-stream\nWhich city is cheapest?"
    first, second = nb.run(cell), nb.run(cell)
    assert len(offline.requests) == 1 and second.result.record.cache_hit and not first.result.record.cache_hit
    nb.run("df.loc[1, 'price'] = 1.0")
    third = nb.run(cell)
    assert len(offline.requests) == 2 and not third.result.record.cache_hit
    nb.run("%openai cache off")


def test_unknown_context_name_is_one_line_and_nothing_is_sent(frame, offline):
    ran = frame.run("%%chat --context df,dff\nHow many rows?")
    assert "--context dff: no such variable" in str(ran.error) and offline.requests == []


def test_context_goes_with_every_row_of_over(frame, offline):
    nb = frame
    nb.run("cities = ['Oslo', 'Lima']")
    ran = nb.run("%%chat --over cities --context df -q -o answers\nIs {item} in df?")
    assert ran.error is None and len(offline.requests) == 2
    assert all("df: pandas DataFrame" in r.body["messages"][-1]["content"] for r in offline.requests)


def test_plain_python_chat_with_context_and_fix(frame, offline):
    import openai_magics

    nb = frame
    answer = openai_magics.chat("How many rows?", context=[nb.ns["df"]])
    assert "`df` is a DataFrame of 3 rows × 2 columns" in answer.text  # named after the variable that holds it
    fail(nb, "dff.head()")
    nb.shell.rl_next_input = None
    fixed = openai_magics.fix()
    assert fixed.code == "df.head()" and nb.shell.rl_next_input == "df.head()"
    assert "misspelling of `df`" in openai_magics.explain().text
    nb.shell.rl_next_input = None


def test_summaries_of_other_kinds(nb):
    from openai_magics.magics.summaries import summarise

    nb.run("import numpy as np, pandas as pd\n"
           "def area(r):\n    return 3.14 * r * r\n"
           "values = {'s': pd.Series([1.0, None, 3.0], name='x'), 'a': np.arange(6).reshape(2, 3),\n"
           "          'd': {'k': 1}, 'l': [1, 'two'], 'f': area, 'm': np, 't': 'hello', 'o': object()}")
    shown = {name: summarise(value, name) for name, value in nb.ns["values"].items()}
    assert shown["s"].startswith("s: pandas Series 'x', 3 values, dtype float64, 1 null")
    assert shown["a"].startswith("a: numpy array, shape (2, 3), dtype int64\nmin 0 · max 5 · mean 2.5")
    assert shown["d"] == "d: dict, 1 keys\n  'k': int 1"
    assert shown["l"] == "l: list, 2 items (int, str)\n  1, 'two'"
    assert "def area(r):\n    return 3.14 * r * r" in shown["f"]
    assert shown["m"].startswith("m: module numpy") and shown["t"] == "t: str, 5 characters\nhello"
    assert shown["o"].startswith("o: object\n<object object at")


def test_in_a_real_kernel_fix_sends_the_corrected_cell_as_the_set_next_input_payload(monkeypatch):
    """What JupyterLab receives: the execute reply's `set_next_input` payload (a new cell below, not run)."""
    from jupyter_client.manager import start_new_kernel

    from conftest import ROOT

    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        printed = []

        def run(code):
            def keep(msg):
                if msg["msg_type"] == "stream":
                    printed.append(msg["content"]["text"])
            return client.execute_interactive(code, timeout=60, output_hook=keep)["content"]

        run("%load_ext openai_magics\n%openai offline\nimport pandas as pd\ndf = pd.DataFrame({'price': [1.0, 2.0]})")
        assert run("total = dff['price'].sum()")["status"] == "error"
        reply = run("%fix")
        assert reply["status"] == "ok"
        assert reply["payload"] == [{"source": "set_next_input", "text": "total = df['price'].sum()",
                                     "replace": False}]
        run("print('total' in dir())")
        assert printed[-1] == "False\n"  # the corrected cell was not run
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_eval_context_goes_with_every_row_and_model(frame, offline):
    nb = frame
    nb.run("rows = [{'text': 'Oslo', 'label': 'yes'}, {'text': 'Rome', 'label': 'no'}]")
    ran = nb.run("%%eval --data rows -m gpt-4o-mini,gpt-4.1-mini --expect label --grader contains --context df -q -o ev\n"
                 "Is {text} a city of df? Answer yes or no.")
    assert ran.error is None
    asked = [r.body["messages"][-1]["content"] for r in offline.requests if r.path.endswith("/chat/completions")]
    assert len(asked) == 4 and all(a.startswith("Variables from my notebook (summaries):\n\ndf: pandas DataFrame")
                                   for a in asked)
