"""Everything a Responses answer holds is shown and kept (a generated image, searches with their citations, code
interpreter's code and output, MCP calls; an item type not known here named in one line), and a cache hit shows
all the first run showed, at $0."""
from __future__ import annotations

import pytest

ITEMS = {  # (offline: with KIND) → what the shown answer says of it
    "image": "![generated an image](data:image/png;base64,iVBOR",
    "web search": "<b>web search</b> web search: offline source",
    "file search": "<b>file search</b> file search: offline notes → 1 results",
    "code interpreter": "<b>code interpreter</b> code interpreter: print(6 * 7)</summary><pre>print(6 * 7)\n\n42",
    "mcp": "mcp offline: lookup({&quot;q&quot;: &quot;offline&quot;}) → found it",
    "mcp approval": "mcp offline asks approval to call delete_all({})",
    "unknown item": "⚠ the answer holds a hologram_call item, a type not known here; it is not shown",
}


def answer_of(ran) -> str:
    """The shown answer without its usage line (the one part that differs between a call and a hit)."""
    return ran.outputs[-1]["text/markdown"].rsplit("<sub", 1)[0]


@pytest.mark.parametrize("stream", ["", "--no-stream"])
@pytest.mark.parametrize("kind", ITEMS)
def test_each_responses_item_type_is_shown_compactly_and_kept(nb, offline, session, kind, stream):
    ran = nb.run(f"%%chat --api responses {stream} -o r\nHello (offline: with {kind})")
    assert ran.error is None and offline.requests[-1].path == "/v1/responses"
    shown = ran.outputs[-1]["text/markdown"]
    assert ITEMS[kind] in shown, shown[:600]
    assert "Incomplete" not in shown and shown.count("### Offline answer") == 1
    result = nb.ns["r"]
    assert [i.kind for i in result.items][:1] == [{"image": "image_generation_call", "web search": "web_search_call",
                                                   "file search": "file_search_call",
                                                   "code interpreter": "code_interpreter_call",
                                                   "mcp": "mcp_list_tools", "mcp approval": "mcp_approval_request",
                                                   "unknown item": "hologram_call"}[kind]]
    assert session.ledger.records[-1].cost > 0
    plain = ran.outputs[-1]["text/plain"]
    assert result.items[0].line in plain  # a terminal shows it too
    assert f"{kind}: {kind}" not in plain  # once, not "web search: web search: …"


def test_citations_are_listed_under_the_answer(nb, offline):
    ran = nb.run("%%chat --api responses -o r\nFind it (offline: with web search) (offline: with file search)")
    assert nb.ns["r"].citations == [{"title": "An offline source", "url": "https://example.com/offline-source"},
                                    {"title": "notes.pdf"}]
    assert ("**Sources:** [An offline source](https://example.com/offline-source) · notes.pdf"
            in ran.outputs[-1]["text/markdown"])


@pytest.mark.parametrize("kind", ["image", "unknown item"])
def test_an_answer_without_text_is_never_called_empty(nb, offline, session, kind):
    ran = nb.run(f"%%chat --api responses -o r\nDraw (offline: with {kind}) (offline: with no text)")
    result = nb.ns["r"]
    assert ran.error is None and result.text == "" and result.incomplete is None
    assert "the answer is empty" not in ran.text and ITEMS[kind] in ran.outputs[-1]["text/markdown"]
    if kind == "image":
        assert len(result.images) == 1 and result.images[0].startswith(b"\x89PNG")
    assert session.ledger.records[-1].cost > 0


SETUP = '''
from pydantic import BaseModel
class City(BaseModel):
    name: str
    country: str
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b
from PIL import Image
img = Image.new("RGB", (32, 32), (30, 120, 200))
'''
CACHED_CELLS = {
    "summary": ("%%chat -m o4-mini --summary\nThink it over", "Reasoning summary:"),
    "schema": ("%%chat --schema City\nA city in France.", "| field | value |"),
    "tools": ("%%chat --tools add\nWhat is 2 + 3? Use the tool.", "<b>tool</b> <code>add("),
    "image": ("%%chat --image img\nWhat colour is this?", "### Offline answer"),
    "moderate": ("%%chat --moderate\nA friendly note", "### Offline answer"),
    "citations": ("%%chat --api responses\nFind it (offline: with web search)", "**Sources:**"),
    "image outputs": ("%%chat --api responses\nDraw (offline: with image)", "](data:image/png;base64,"),
}


@pytest.mark.parametrize("case", CACHED_CELLS)
def test_a_cache_hit_shows_all_the_first_run_showed_at_no_cost(nb, offline, session, tmp_path, case):
    cell, part = CACHED_CELLS[case]
    nb.run(SETUP)
    nb.run(f"%openai cache on {tmp_path / 'answers.sqlite'}")
    first = nb.run(cell)
    asked = [r for r in offline.requests if r.path.endswith(("/chat/completions", "/responses"))]
    second = nb.run(cell)
    assert first.error is None and second.error is None
    assert part in answer_of(first)
    assert answer_of(second) == answer_of(first)
    assert [r for r in offline.requests if r.path.endswith(("/chat/completions", "/responses"))] == asked
    hit = session.ledger.records[-1]
    assert hit.cache_hit and hit.cost == 0 and "cached" in second.outputs[-1]["text/markdown"].rsplit("<sub", 1)[1]
