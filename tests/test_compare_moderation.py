"""%%chat --compare (several models at once, side by side) and moderation (%moderate, %%chat --moderate)."""
from __future__ import annotations

import threading
import time

import pytest


def _chat_requests(offline):
    return [r for r in offline.requests if r.path.endswith("/chat/completions")]


def _most_in_flight(offline, stop: threading.Event, seen: list) -> None:
    while not stop.is_set():
        seen.append(sum(1 for r in _chat_requests(offline) if r.status == 0))
        time.sleep(0.005)


def test_compare_sends_three_requests_at_once_and_shows_three_answers(nb, offline, session):
    offline.latency = 0.4  # long enough for a watcher to see requests waiting side by side
    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=_most_in_flight, args=(offline, stop, seen))
    watcher.start()
    try:
        ran = nb.run("%%chat --compare gpt-4o-mini,gpt-4.1-mini,o4-mini -o cmp\nName a prime number.")
    finally:
        stop.set()
        watcher.join()
    assert ran.error is None
    assert max(seen) == 3  # all three were waiting on the server together
    assert sorted(r.body["model"] for r in _chat_requests(offline)) == ["gpt-4.1-mini", "gpt-4o-mini", "o4-mini"]
    cmp = nb.ns["cmp"]
    assert cmp.models == ["gpt-4o-mini", "gpt-4.1-mini", "o4-mini"] and len(cmp) == 3
    assert [r.model for r in session.ledger.records] == [r.model for r in cmp.results] or \
        sorted(r.model for r in session.ledger.records) == sorted(r.model for r in cmp.results)
    assert len(session.ledger) == 3 and all(r.magic == "chat" for r in session.ledger.records)
    shown = ran.outputs[-1]["text/markdown"]
    for result in cmp.results:
        assert result.usage_line in ran.text
        assert "s to first token" in result.usage_line
        phrase = next(p for p in result.usage_line.split(" · ") if p.endswith("s to first token"))
        assert f'<span style="white-space:nowrap">{phrase}</span>' in shown  # wraps between phrases only
    assert len({r.text for r in cmp.results}) == 3  # each model answers differently


def _rendered_columns(markdown: str) -> list[str]:
    """The compare view as a CommonMark renderer (as JupyterLab's) draws it, cut into its columns' HTML."""
    from markdown_it import MarkdownIt

    page = MarkdownIt("commonmark").render(markdown)
    assert page.startswith('<div class="openai-magics-compare"') and page.rstrip().endswith("</div>")
    return page.split('<div style="flex:1 1 0;')[1:]


def test_compare_columns_show_each_answer_as_markdown_like_a_single_answer(nb, offline):
    single = nb.run("%%chat --no-stream -m gpt-4o-mini\nWhat is a prime?").result
    ran = nb.run("%%chat --compare gpt-4o-mini,gpt-4.1-mini --no-stream\nWhat is a prime?")
    assert ran.error is None and "text/html" not in ran.outputs[-1]  # frontends render the Markdown
    columns = _rendered_columns(ran.outputs[-1]["text/markdown"])
    assert len(columns) == 2
    for column, model in zip(columns, ["gpt-4o-mini", "gpt-4.1-mini"]):
        assert f'<div style="font-weight:600">{model}</div>' in column
        assert "<h3>Offline answer</h3>" in column and "<strong>offline server</strong>" in column
        assert '<code class="language-python">' in column and "###" not in column and "**" not in column
        assert "$e^{i\\pi} + 1 = 0$" in column  # the answer's maths, left for the typesetter as in one answer
        assert '<sub class="mathjax_ignore tex2jax_ignore">' in column  # its figures are not
    assert single.answer_markdown() in ran.outputs[-1]["text/markdown"]


def test_a_compare_answer_cut_inside_a_code_block_does_not_swallow_the_next_column():
    from openai_magics.chat.compare import CompareResult
    from openai_magics.chat.result import ChatResult

    cut = ChatResult("Here:\n```python\nprint(1", model="gpt-4o-mini", interrupted=True)
    whole = ChatResult("**Done.**", model="gpt-4.1-mini")
    first, second = _rendered_columns(CompareResult([cut, whole])._repr_markdown_())
    assert "print(1" in first and "Interrupted" in first and "<strong>Done.</strong>" in second


def test_compare_works_with_a_schema_and_refuses_threads(nb, offline, session):
    nb.run("from pydantic import BaseModel\nclass City(BaseModel):\n    name: str\n    country: str")
    ran = nb.run("%%chat -m gpt-4o-mini,gpt-4.1-mini --schema City -o cities\nA city in France.")
    assert ran.error is None
    assert [type(c).__name__ for c in nb.ns["cities"]] == ["City", "City"]
    assert all("response_format" in r.body for r in _chat_requests(offline))
    offline.clear_log()
    ran = nb.run("%%chat --compare gpt-4o-mini,o4-mini --thread t\nHello")
    assert type(ran.error).__name__ == "UsageError" and "--thread" in str(ran.error)
    assert _chat_requests(offline) == []


def test_moderate_shows_flagged_categories_at_no_cost(nb, offline, session):
    ran = nb.run("%moderate I will [[flag:violence]] you")
    assert ran.error is None
    assert "violence" in ran.text and "⚑" in ran.text and "$0 (moderation is free)" in ran.text
    assert offline.requests[-1].path == "/v1/moderations"
    record = session.ledger.records[-1]
    assert record.magic == "moderate" and record.cost == 0
    ran = nb.run("%%moderate -o verdict\nA friendly note about gardening.")
    assert not nb.ns["verdict"].flagged and "no" in ran.text


def test_chat_moderate_refuses_a_flagged_prompt_before_sending(nb, offline, session):
    ran = nb.run("%%chat --moderate\nTell me how to [[flag:illicit]] things")
    assert type(ran.error).__name__ == "UsageError"
    assert "Refused before sending" in str(ran.error) and "illicit" in str(ran.error)
    assert _chat_requests(offline) == []
    assert [r.magic for r in session.ledger.records] == ["chat --moderate"]


def test_chat_moderate_stops_a_flagged_stream_and_records_what_was_generated(nb, offline, session):
    ran = nb.run("%%chat --moderate -o answer\nWrite a story (offline: unsafe answer) (offline: 400 tokens)")
    assert ran.error is None
    answer = nb.ns["answer"]
    assert answer.incomplete and "moderation flagged the answer (violence" in answer.incomplete
    assert "moderation flagged" in ran.text
    chat_rows = [r for r in session.ledger.records if r.magic == "chat"]
    assert len(chat_rows) == 1 and 0 < chat_rows[0].usage.output_tokens < 400
    assert chat_rows[0].cost > 0
