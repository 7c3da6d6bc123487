"""Our views, seen in JupyterLab in Chromium: one case per view (add new views to CASES)."""
from __future__ import annotations

import re

import pytest

from .lab import BROKEN_KERNEL, ViewCase

SETUP = """%load_ext openai_magics
%openai offline
import openai_magics
openai_magics.session().offline_server.chunk_delay = 0.01  # slow enough to watch the stream"""
CHAT = """%%chat -m gpt-4o-mini
What is Euler's identity? (offline: 400 tokens)"""

# The live view while it streams: its text length, its counters line, its status.
STREAM_PROBE = """() => {
  const el = document.querySelector('.oaim-stream');
  if (!el || el.dataset.status !== 'streaming') return null;
  return {chars: el.querySelector('.oaim-stream-text').textContent.length,
          stats: el.querySelector('.oaim-stream-stats').textContent, shown: !el.hidden,
          shot: el.querySelector('.oaim-stream-text').textContent.length > 600};
}"""
# One cell's outputs after the run: what rendered and how.
CELL_JS = """(i) => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[i];
  const md = [...cell.querySelectorAll('.jp-RenderedMarkdown')];
  const all = (sel) => md.flatMap(m => [...m.querySelectorAll(sel)]);
  const live = cell.querySelector('.oaim-stream');
  const table = cell.querySelector('table.oaim-usage');
  return {
    headings: all('h1, h2, h3').map(h => h.textContent),
    code: all('pre').map(p => p.textContent),
    maths: all('mjx-container').length,
    markdown: md.map(m => m.innerText).join('\\n'),
    live: live && {status: live.dataset.status, hidden: live.hidden},
    rows: table ? [...table.querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.textContent)) : null,
    header: table ? [...table.querySelectorAll('thead th')].map(c => c.textContent) : null,
    text: cell.querySelector('.jp-OutputArea')?.innerText ?? '',
    html: cell.querySelector('.jp-OutputArea')?.innerHTML ?? '',
  };
}"""


def cell(run, index: int) -> dict:
    return run.page.evaluate(CELL_JS, index)


def check_stream(run) -> list[str]:
    problems = []
    live = run.samples
    chars = [s["chars"] for s in live]
    tokens = [int(m.group(1).replace(",", "")) for s in live if (m := re.search(r"([\d,]+) tokens", s["stats"]))]
    if not live:
        problems.append("the live view (.oaim-stream) never appeared while the cell ran")
    elif len(set(c for c in chars if c)) < 3 or chars != sorted(chars):
        problems.append(f"the live text did not grow during the stream: {chars}")
    if live and (len(set(tokens)) < 3 or tokens != sorted(tokens)):
        problems.append(f"the token counter did not count up during the stream: {[s['stats'] for s in live]}")
    if live and not all(s["shown"] for s in live):
        problems.append("the live view was hidden while streaming")
    out = cell(run, 1)
    if out["live"] and not out["live"]["hidden"]:  # gone (its output replaced) or hidden
        problems.append(f"the live view did not step aside when done: {out['live']}")
    if not any("Offline answer" in h for h in out["headings"]):
        problems.append(f"no rendered heading in the answer: {out['headings']}")
    if not any("def " in c or "print" in c for c in out["code"]):
        problems.append(f"no rendered code block in the answer: {out['code']}")
    if not out["maths"] or "$e^" in out["markdown"]:
        problems.append(f"inline maths not rendered by MathJax ({out['maths']} typeset)")
    if not re.search(r"gpt-4o-mini\S* · \d+ in · [\d,]+ out · \$", out["text"]):
        problems.append(f"no usage line under the answer: {out['text'][-300:]!r}")
    return problems


def check_usage(run) -> list[str]:
    out = cell(run, 3)
    if out["rows"] is None:
        return [f"no usage table (table.oaim-usage) in the output: {out['text'][:300]!r}"]
    problems = []
    if len(out["rows"]) != 2 or not all("chat" in r and any("gpt-4o-mini" in c for c in r) for r in out["rows"]):
        problems.append(f"the usage table does not show the two %%chat calls: {out['header']} {out['rows']}")
    if "Total: 2 calls · $" not in out["text"]:
        problems.append(f"no total under the usage table: {out['text'][-200:]!r}")
    return problems


EMBED_SETUP = """%load_ext openai_magics
%openai offline
import openai_magics
openai_magics.session().offline_server.latency = 1.0  # each request takes a second: the bar stays up
texts = [f"sentence number {i}" for i in range(1000)]"""
# The embedding progress bar (an ipywidgets IntProgress) while the requests are out: its label.
PROGRESS_PROBE = """() => {
  const bar = document.querySelector('.jp-CodeCell:nth-child(2) .widget-hprogress');
  return bar && {label: bar.querySelector('.widget-label').textContent, shown: bar.offsetParent !== null};
}"""


def check_progress(run) -> list[str]:
    problems = []
    labels = {s["label"] for s in run.samples if s["shown"]}
    if not any(re.fullmatch(r"\d+/1,000 texts", label) for label in labels):
        problems.append(f"no progress bar counting the texts while the requests ran: {run.samples[:3]}")
    out = cell(run, 1)
    if "widget-hprogress" in out["html"]:
        problems.append("the progress bar did not step aside when done")
    if "1,000" not in out["text"] or "oaim-embed" not in out["html"]:
        problems.append(f"no embedding result under the cell: {out['text'][:300]!r}")
    return problems


STREAM = ViewCase("stream", [SETUP, CHAT], check_stream, probe=STREAM_PROBE)
PROGRESS = ViewCase("embed-progress", [EMBED_SETUP, "%embed --input texts"], check_progress, probe=PROGRESS_PROBE)
USAGE = ViewCase("usage", ["%load_ext openai_magics\n%openai offline", "%%chat -m gpt-4o-mini\nWhat is Euler's identity?",
                           "%%chat -m gpt-4o-mini\nAnd in one line?", "%openai usage"], check_usage)
# A new view (gallery, audio, batch progress) adds its ViewCase here: its cells, a probe if it is live, a check.
CASES = [STREAM, USAGE, PROGRESS]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_view_in_jupyterlab(lab, case):
    run, problems = case.run(lab)
    assert problems == [], f"{case.name} in JupyterLab (screenshots: {run.screenshots}):\n" + "\n".join(problems)


def test_a_broken_front_end_module_fails_the_tier(lab):
    """stream.js with a syntax error (served to this kernel's widgets only): the same checks must object."""
    run, problems = STREAM.run(lab, kernel=BROKEN_KERNEL, suffix="-broken")
    print("problems seen with a broken stream.js:", *problems, sep="\n  ")
    assert "the live view (.oaim-stream) never appeared while the cell ran" in problems
    assert any(p.startswith("browser console:") or "Error displaying widget" in p for p in problems), problems
