"""Every cell's tokens and dollars: exact prices, the usage table, the budget, token counts (issue 3)."""
from decimal import Decimal

import pytest

M = Decimal(1_000_000)


def cost_of(record, input_rate, output_rate, cached_rate=None):
    """The bill from the published per-million rates, from the usage the server reported."""
    u = record.usage
    cached_rate = input_rate if cached_rate is None else cached_rate
    return (Decimal(u.input_tokens - u.cached_tokens) * Decimal(input_rate) + Decimal(u.cached_tokens)
            * Decimal(cached_rate) + Decimal(u.output_tokens) * Decimal(output_rate)) / M


def last(session):
    return session.ledger.records[-1]


def test_gpt_4o_mini_exact_cost(nb, session):
    ran = nb.run("%%chat -m gpt-4o-mini\nWhat is a p-value?")
    record = last(session)
    assert record.model == "gpt-4o-mini-2024-07-18"
    assert not record.estimated and record.usage.input_tokens > 0 and record.usage.output_tokens > 0
    assert record.cost == cost_of(record, "0.15", "0.60")
    assert ran.result.usage_line.startswith("gpt-4o-mini-2024-07-18 · ")
    assert f"{record.usage.output_tokens:,} out" in ran.result.usage_line


def test_dated_snapshot_is_priced_as_its_model(nb, session):
    nb.run("%chat -m gpt-4o-2024-08-06 --no-stream hello")
    record = last(session)
    assert record.model == "gpt-4o-2024-08-06"
    assert record.cost == cost_of(record, "2.50", "10")


def test_reasoning_tokens_are_billed_as_output(nb, session):
    ran = nb.run("%%chat -m o4-mini --reasoning-effort high\nThink hard.")
    record = last(session)
    assert record.usage.reasoning_tokens == 256
    assert record.usage.output_tokens > 256  # reasoning is part of the output the API bills
    assert record.cost == cost_of(record, "1.10", "4.40")
    assert "(256 reasoning)" in ran.result.usage_line


def test_cached_input_tokens_are_billed_at_the_cached_rate(nb, session):
    nb.ns["doc"] = "lorem ipsum dolor sit amet " * 300
    nb.run("%%chat -m gpt-4o\nSummarise: {doc}")
    ran = nb.run("%%chat -m gpt-4o\nSummarise: {doc}")
    record = last(session)
    assert record.usage.cached_tokens >= 1024
    assert record.cost == cost_of(record, "2.50", "10", cached_rate="1.25")
    assert f"({record.usage.cached_tokens:,} cached)" in ran.result.usage_line


def test_unknown_model_records_tokens_and_unknown_price(nb, session, offline):
    offline.any_model = True  # a compatible server's own model
    ran = nb.run("%chat -m my-local-llama hello")
    record = last(session)
    assert record.usage.output_tokens > 0
    assert record.cost is None
    assert "price unknown" in ran.result.usage_line and "$0 " not in ran.result.usage_line
    table = nb.run("%openai usage").result
    assert "unknown" in table.summary()


def test_same_cell_twice_two_rows_and_by_cell_sums(nb, session):
    count = nb.shell.execution_count
    first = nb.run("%%chat\nHello", cell_id="cell-a")
    second = nb.run("%%chat\nHello", cell_id="cell-a")
    rows = session.ledger.records
    assert [r.cell for r in rows] == [count, count + 1]
    assert [r.cell_id for r in rows] == ["cell-a", "cell-a"]
    table = nb.run("%openai usage --by cell").result
    assert len(table.rows) == 1 and table.rows[0]["calls"] == 2
    assert table.rows[0]["cost"] == rows[0].cost + rows[1].cost
    assert first.result.text == second.result.text
    html = table._repr_html_()
    assert "<table" in html and "cumulative" in html


def test_usage_as_records_dataframe_and_csv(nb, session, tmp_path):
    nb.run("%chat -m gpt-4o-mini hi")
    nb.run("%chat -m gpt-4o hi")
    frame = session.usage.to_pandas()
    assert list(frame["model"]) == ["gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06"]
    assert frame["cost"].sum() == pytest.approx(float(session.ledger.total_cost))
    nb.run(f"%openai usage --by model -o usage_table --csv {tmp_path / 'u.csv'}")
    assert len(nb.ns["usage_table"].rows) == 2
    assert "oaim-usage-cumulative" in nb.ns["usage_table"]._repr_html_()  # the running-total chart
    assert (tmp_path / "u.csv").read_text().startswith("model,calls")


def test_budget_refuses_before_sending_and_lets_small_calls_through(nb, session, offline):
    nb.run("%openai budget 0.001")
    nb.ns["big"] = "many words here " * 4000
    offline.clear_log()
    ran = nb.run("%%chat -m gpt-4o\n{big}")
    assert ran.error is not None and "Refused before sending" in ran.stderr
    assert "over the budget of $0.0010" in ran.stderr and "Traceback" not in ran.stderr
    assert offline.requests == [] and len(session.ledger) == 0
    ok = nb.run("%chat -m gpt-4o-mini --max-tokens 50 hi")
    assert ok.error is None and len(offline.requests) == 1
    status = nb.run("%openai").stdout
    assert "budget:   $0.0010" in status and "left" in status


def test_budget_off(nb, session):
    nb.run("%openai budget 0.000001")
    assert nb.run("%chat hi").error is not None
    nb.run("%openai budget off")
    assert nb.run("%chat hi").error is None


def test_streaming_without_usage_is_estimated_and_marked(nb, session, offline):
    offline.stream_usage = False
    ran = nb.run("%chat -m gpt-4o-mini hi")
    record = last(session)
    assert record.estimated and record.usage.output_tokens > 0
    assert "≈" in ran.result.usage_line


def test_tokens_counts_exactly_with_tiktoken(nb):
    ran = nb.run("%tokens -m gpt-4o Hello world, how are you")
    assert ran.result.tokens == 6 and ran.result.count.exact
    assert "of the 128,000-token window" in str(ran.result)


def test_tokens_without_encodings_estimates_and_says_so(nb, monkeypatch, tmp_path):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "nowhere"))
    ran = nb.run("%%tokens\nHello world, how are you?")
    assert not ran.result.count.exact and ran.result.tokens > 0
    assert "≈" in str(ran.result) and "estimated" in str(ran.result)


def test_tokens_of_empty_cell_is_one_line(nb):
    ran = nb.run("%%tokens\n   ")
    assert "UsageError" in ran.stderr and len(ran.stderr.strip().splitlines()) == 1


def test_price_subcommand(nb):
    assert "input $0.15" in nb.run("%openai price gpt-4o-mini").stdout
    assert "price unknown" in nb.run("%openai price my-local-llama").stdout
