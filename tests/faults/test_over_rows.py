"""`%%chat --over` with rows that cannot be asked as written, under a budget that fits only some rows, and with
options it cannot honour: one line before anything is sent, or rows answered while the budget lasts."""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from openai_magics.views.row_results import RowError
from tests.faults.checks import one_line


def chats(offline):
    return [r for r in offline.requests if r.path.endswith("/chat/completions")]


MISSING = {
    "nan": (lambda: pd.DataFrame({"text": ["hello", np.nan, "bye"]}), "{text}", "row 1: {text} is nan"),
    "none-in-frame": (lambda: pd.DataFrame({"text": ["hello", "bye", None]}), "{text}", "row 2: {text} is"),
    "none-in-list": (lambda: ["hello", None], "{item}", "row 1: {item} is None"),
    "pd-na": (lambda: pd.DataFrame({"text": pd.array(["a", pd.NA, "c"], dtype="string")}), "{text}",
              "row 1: {text} is <NA>"),
    "nat": (lambda: pd.DataFrame({"when": pd.to_datetime(["2024-01-01", None])}), "{when}", "row 1: {when} is NaT"),
    "row-key": (lambda: pd.DataFrame({"the text": ["a", None]}), '{row["the text"]}', "row 1:"),
    "series": (lambda: pd.Series(["a", np.nan, "c"], index=["x", "y", "z"]), "{item}", "row 'y': {item} is nan"),
    "list": (lambda: ["a", None, float("nan")], "{item}", "2 rows"),
    "float-column": (lambda: pd.DataFrame({"price": [1.5, np.nan]}), "Is {price} cheap?", "{price} is nan"),
}


@pytest.mark.parametrize("case", list(MISSING))
def test_missing_cells_in_over_are_named_in_one_line_and_nothing_is_sent(nb, offline, session, case):
    make, template, says = MISSING[case]
    nb.ns["rows"] = make()
    line = one_line(nb.run(f"%%chat --over rows\nTranslate: {template}"), says, "nothing was sent")
    assert "--over rows" in line and not chats(offline) and not session.ledger.records


def test_many_missing_cells_are_counted_not_all_listed(nb, offline):
    nb.ns["rows"] = pd.DataFrame({"text": [None] * 40})
    line = one_line(nb.run("%%chat --over rows\nTranslate: {text}"), "40 rows", "and 37 more")
    assert not chats(offline)


def test_a_missing_cell_in_a_column_the_template_does_not_read_is_sent(nb, offline):
    nb.ns["rows"] = pd.DataFrame({"text": ["hello", "bye"], "note": [None, np.nan]})
    ran = nb.run("%%chat --over rows -o out\nTranslate: {text}")
    assert ran.error is None and len(chats(offline)) == 2


def test_zero_and_empty_strings_are_values_not_missing(nb, offline):
    nb.ns["rows"] = [0, 0.0, False]
    assert nb.run("%%chat --over rows -o out\nSay {item}").error is None and len(chats(offline)) == 3


def _row_worst(session, tokens_in: int, tokens_out: int) -> Decimal:
    from openai_magics.metering.usage import Usage

    return session.worst_case("gpt-4o-mini", Usage(input_tokens=tokens_in, output_tokens=tokens_out))


def test_a_budget_that_fits_3_of_10_rows_answers_rows_while_it_lasts(nb, offline, session):
    nb.ns["items"] = [f"word{i} " * 40 for i in range(10)]  # long answers: each row costs about its worst case
    from openai_magics.chat.over import _bounds
    from openai_magics.chat.request import ChatRequest

    tokens_in, _ = _bounds(session, ChatRequest(prompt="Repeat exactly: " + nb.ns["items"][0], model="gpt-4o-mini",
                                                max_tokens=30))
    session.budget = _row_worst(session, tokens_in + 5, 30) * 3
    ran = nb.run("%%chat --over items --max-tokens 30 --concurrency 2 -o out\nRepeat exactly: {item}")
    assert ran.error is None
    out = nb.ns["out"]
    answered = [v for v in out if not isinstance(v, RowError)]
    refused = [v for v in out if isinstance(v, RowError)]
    assert 3 <= len(answered) < 10 and len(chats(offline)) == len(answered)
    assert all("the budget ran out" in v.message for v in refused)
    assert session.ledger.total_cost <= session.budget
    assert f"budget reached: {len(refused)} rows not sent" in ran.text


def test_a_budget_that_fits_not_even_one_row_refuses_the_run_in_one_line(nb, offline, session):
    nb.ns["items"] = ["a", "b", "c"]
    session.budget = Decimal("0.0000001")
    one_line(nb.run("%%chat --over items --max-tokens 200\nSay {item}"), "Refused before sending")
    assert not chats(offline)


def test_rows_cheaper_than_their_worst_case_are_all_answered_under_a_budget_for_some(nb, offline, session):
    nb.ns["items"] = [f"row {i}" for i in range(12)]
    session.budget = _row_worst(session, 20, 2000) * 4  # the worst case of 4 rows; each costs far less
    ran = nb.run("%%chat --over items --max-tokens 2000 -o out\nSay {item}")
    assert ran.error is None and not any(isinstance(v, RowError) for v in nb.ns["out"])
    assert session.ledger.total_cost <= session.budget


@pytest.mark.parametrize("line", ["--over items --batch --compare gpt-4o-mini,gpt-4o",
                                  "--over items --compare gpt-4o-mini,gpt-4o",
                                  "--over items --batch -m gpt-4o-mini,gpt-4o",
                                  "--over items --batch --no-wait --compare gpt-4o,gpt-4o-mini"],
                         ids=["batch", "interactive", "batch-m-list", "no-wait"])
def test_over_with_compare_is_refused_not_ignored(nb, offline, session, line):
    nb.ns["items"] = ["a", "b"]
    one_line(nb.run(f"%%chat {line}\nSay {{item}}"), "--compare", "Nothing was sent")
    assert not offline.requests and not session.ledger.records
