"""What our outputs show in a notebook: figures no maths typesetter touches, tables of any ledger size."""
from __future__ import annotations

import random
import re
from decimal import Decimal

from openai_magics.metering.ledger import UsageRecord
from openai_magics.metering.usage import Usage

MODELS = ["gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "text-embedding-3-small", "mystery-model"]


def fill_ledger(session, n: int) -> None:
    """n recorded calls, as a long session leaves them (a model without a price among them)."""
    rng = random.Random(7)
    for i in range(n):
        model = MODELS[i % len(MODELS)]
        cost = None if model == "mystery-model" else Decimal(rng.randint(1, 900)) / Decimal(1_000_000)
        session.ledger.add(UsageRecord(magic="chat", model=model, cell=i + 1, latency=0.5, cost=cost,
                                       usage=Usage(input_tokens=rng.randint(5, 5000), output_tokens=100)))


def shown_bytes(ran) -> int:
    return sum(len(str(value).encode()) for bundle in ran.outputs for value in bundle.values())


def test_usage_of_ten_thousand_calls_stays_small_and_says_how_to_get_all(nb, session):
    fill_ledger(session, 10_000)
    ran = nb.run("%openai usage")
    assert shown_bytes(ran) < 50_000
    html = ran.outputs[-1]["text/html"]
    assert html.count("<tr>") == 1 + 100 + 1  # the header, the first and last 50 rows, the gap
    assert "9,900 more rows not shown" in html and "to_pandas()" in html and "--csv PATH" in html
    assert ">10000<" in html.replace(",", "")  # the last call is there
    assert "Total:</b> 10,000 calls" in html and "2,500 at unknown prices" in html
    plain = ran.outputs[-1]["text/plain"]
    assert "9,900 more rows not shown" in plain and len(plain.splitlines()) < 110
    by_model = nb.run("%openai usage --by model -o t").result
    assert [r["calls"] for r in by_model.rows] == [2500] * 4
    assert by_model.rows[0]["cell"][:3] == [1, 5, 9]
    assert len(nb.ns["t"].to_pandas()) == 4


def test_dollar_figures_are_never_maths(nb, session):
    fill_ledger(session, 6)
    html = nb.run("%openai usage").outputs[-1]["text/html"]
    assert re.match(r'<div class="oaim-usage-view mathjax_ignore tex2jax_ignore">', html)
    assert "$" not in html and "&#36;0.000" in html
    line = nb.run("%%chat -m gpt-4o-mini\nhello").outputs[-1]["text/markdown"]
    assert re.search(r'<sub class="mathjax_ignore tex2jax_ignore">gpt-4o-mini\S* · .* · &#36;0\.', line)


def test_cumulative_chart_has_axes_and_leaves_unknown_prices_out(nb, session):
    fill_ledger(session, 8)  # two of them at unknown prices
    table = nb.run("%openai usage").result
    svg = table._repr_html_().split("<svg", 1)[1]
    texts = re.findall(r">([^<>]+)</text>", svg)
    assert "calls" in texts and "USD" in texts and "&#36;0" in texts
    assert "6" in texts  # the last call plotted: six of known price
    assert texts.count(table._repr_html_().split("Total:</b> 8 calls · ")[1].split(" ")[0]) == 2  # axis top, last
    assert "2 calls at unknown prices left out of the chart." in table._repr_html_()


def test_time_to_first_token_shows_and_the_speed_counts_from_it(nb, session, offline):
    offline.latency, offline.chunk_delay = 0.3, 0.002  # the server thinks, then streams
    ran = nb.run("%%chat -m gpt-4o-mini\nSay a lot (offline: 200 tokens)")
    record = session.ledger.records[-1]
    assert 0.3 <= record.first_token < record.latency
    line = ran.result.usage_line
    shown = re.search(r" · \$0\.\d+ · (\d+\.\d) s to first token · \d+\.\d s · [\d,]+ tok/s$", line)
    assert shown and float(shown.group(1)) >= 0.3, line
    speed = int(re.search(r"([\d,]+) tok/s", line).group(1).replace(",", ""))
    assert speed > 200 / record.latency  # counted over the streaming, not the wait before it
    assert "first_token" in session.usage.to_pandas().columns
    nb.run("%%chat -m gpt-4o-mini --no-stream\nhi")
    assert session.ledger.records[-1].first_token is None  # no stream, no first token to time


def cell_tag(html: str, content: str) -> str:
    """The opening tag of the table cell (th or td) that holds `content`."""
    found = re.search(r"<t[dh]\b[^>]*>(?:(?!<t[dh]\b).)*?" + re.escape(content), html, re.S)
    assert found, f"no cell holds {content!r}"
    return found.group(0)[: found.group(0).index(">") + 1]


LEFT = "text-align:left"


def test_text_columns_read_from_the_left_and_figures_from_the_right(nb, offline):
    embedded = nb.run("%%embed\nrivers of Europe\nthe stock market fell").outputs[-1]["text/html"]
    assert all(LEFT in cell_tag(embedded, text) for text in ("text</th>", "vector</th>", "rivers of Europe", "<code>["))
    assert LEFT not in cell_tag(embedded, "#</th>")
    nb.ns["items"] = ["apples", "pears"]
    over = nb.run("%%chat --over items\nRepeat exactly: {item}").outputs[-1]["text/html"]
    assert all(LEFT in cell_tag(over, text) for text in ("answer</th>", "0</th>", "Repeat exactly: pears"))
    said = nb.run("%%speak -m tts-1 --format wav\nHello there. How are you today?").result
    nb.ns["clip"] = bytes(said)
    heard = nb.run("%%transcribe -m whisper-1 --timestamps segment\nclip").outputs[-1]["text/html"]
    assert LEFT in cell_tag(heard, "text</th>") and LEFT in cell_tag(heard, "How are you today?")
    assert LEFT not in cell_tag(heard, "start</th>")
    moderated = nb.run("%moderate I will [[flag:violence]] you").outputs[-1]["text/html"]
    for text in ("text</th>", "flagged</th>", "category</th>", "I will", "⚑ yes", "violence</td>"):
        assert LEFT in cell_tag(moderated, text), text
    assert LEFT not in cell_tag(moderated, "score</th>")


def test_a_harmless_text_is_shown_once_beside_its_top_scores(nb, offline):
    ran = nb.run("%moderate A friendly note about gardening.")
    shown = ran.outputs[-1]
    assert shown["text/html"].count("A friendly note about gardening.") == 1
    assert 'rowspan="3"' in shown["text/html"]
    assert shown["text/plain"].count("A friendly note about gardening.") == 1
    assert len(ran.result.to_pandas()) == 3  # the data keeps a row per category


def test_image_usage_lines_show_no_tokens_per_second(nb, offline):
    offline.latency = 0.2  # long enough for a speed to be shown, were it one
    ran = nb.run("%%image -m gpt-image-1 --quality low\nA red bicycle")
    line = ran.result.usage_line
    assert "image" in line and "tok/s" not in line, line
    chat = nb.run("%%chat --no-stream\nhi").result.usage_line
    assert "tok/s" in chat, chat  # a text answer keeps its speed
