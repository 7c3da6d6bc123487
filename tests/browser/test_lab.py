"""Our views, seen in JupyterLab in Chromium: one case per view (add new views to CASES)."""
from __future__ import annotations

import json
import re

import pytest

from .lab import BROKEN_KERNEL, KERNEL, ViewCase

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

SETUP = """%load_ext openai_magics
%openai offline
import openai_magics
openai_magics.session().offline_server.chunk_delay = 0.005  # slow enough to watch the stream: ~2 s"""
CHAT = """%%chat -m gpt-4o-mini
What is Euler's identity? (offline: 400 tokens)"""

# The live view while it streams: its text length, its counters line, what is rendered already.
STREAM_PROBE = """() => {
  const el = document.querySelector('.oaim-stream');
  if (!el || el.dataset.status !== 'streaming') return null;
  const text = el.querySelector('.oaim-stream-text');
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
  return {cell: cells.indexOf(el.closest('.jp-CodeCell')), chars: text.textContent.length,
          stats: el.querySelector('.oaim-stream-stats').textContent,
          shown: el.offsetParent !== null, heading: text.querySelector('h1, h2, h3')?.textContent ?? null,
          bold: text.querySelector('strong')?.textContent ?? null, code: text.querySelector('pre code')?.textContent ?? null,
          shot: text.textContent.length > 600};
}"""
# One cell's outputs after the run: what rendered and how.
CELL_JS = """(i) => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[i];
  const md = [...cell.querySelectorAll('.jp-RenderedMarkdown')];
  const all = (sel) => md.flatMap(m => [...m.querySelectorAll(sel)]);
  const live = cell.querySelector('.oaim-stream');
  const table = cell.querySelector('table.oaim-usage');
  const ours = [...cell.querySelectorAll('.oaim-usage-view, sub.mathjax_ignore')];
  const lines = (td) => { const r = document.createRange(); r.selectNodeContents(td);
                          return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; };
  return {
    headings: all('h1, h2, h3').map(h => h.textContent),
    code: all('pre').map(p => p.textContent),
    maths: all('mjx-container').length,
    markdown: md.map(m => m.innerText).join('\\n'),
    live: live && {status: live.dataset.status, hidden: live.hidden},
    rows: table ? [...table.querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.textContent)) : null,
    header: table ? [...table.querySelectorAll('thead th')].map(c => c.textContent) : null,
    wrapped: table ? [...table.querySelectorAll('td')].filter(td => lines(td) > 1).map(td => td.textContent) : null,
    align: table ? Object.fromEntries([...table.querySelectorAll('thead th')].map((th, i) =>
      [th.textContent, getComputedStyle(table.querySelector(`tbody tr td:nth-child(${i + 1})`)).textAlign])) : null,
    chart: [...cell.querySelectorAll('svg.oaim-usage-cumulative text')].map(t => t.textContent),
    oursText: ours.map(e => e.innerText).join('\\n'),
    oursMaths: ours.reduce((n, e) => n + e.querySelectorAll('mjx-container, .MathJax').length, 0),
    copy: cell.querySelector('.jp-RenderedMarkdown .oaim-copy')?.textContent ?? null,
    text: cell.querySelector('.jp-OutputArea')?.innerText ?? '',
    html: cell.querySelector('.jp-OutputArea')?.innerHTML ?? '',
  };
}"""


def cell(run, index: int) -> dict:
    return run.page.evaluate(CELL_JS, index)


def check_stream(run) -> list[str]:
    return check_live([s for s in run.samples if s["cell"] == 1]) + check_answer(run, 1)


def check_live(live: list[dict]) -> list[str]:
    """One answer's live view, from the probe's samples while it streamed."""
    problems = []
    rendered = [s for s in live if s["heading"] and s["bold"] and s["code"]]
    if live and not rendered:
        problems.append("no heading, bold and code block rendered together while the answer streamed: "
                        f"{[(s['heading'], s['bold'], (s['code'] or '')[:20]) for s in live[-3:]]}")
    if live and not any(re.search(r"\d\.\d s to first token", s["stats"]) for s in live):
        problems.append(f"no time to first token in the live counters: {live[-1]['stats']!r}")
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
    return problems


def check_answer(run, index: int) -> list[str]:
    """One answer once complete: the live view stepped aside for the rendered Markdown and its usage line."""
    problems = []
    out = cell(run, index)
    if out["live"] and not out["live"]["hidden"]:  # gone (its output replaced) or hidden
        problems.append(f"the live view did not step aside when done: {out['live']}")
    if not any("Offline answer" in h for h in out["headings"]):
        problems.append(f"no rendered heading in the answer: {out['headings']}")
    if not any("def " in c or "print" in c for c in out["code"]):
        problems.append(f"no rendered code block in the answer: {out['code']}")
    if not out["maths"] or "$e^" in out["markdown"]:
        problems.append(f"inline maths not rendered by MathJax ({out['maths']} typeset)")
    if not re.search(r"gpt-4o-mini\S* · \d+ in · [\d,]+ out · \$[\d.]+ · \d\.\d s to first token", out["text"]):
        problems.append(f"no usage line under the answer: {out['text'][-300:]!r}")
    problems += check_copy(run, index)
    return problems


def check_copy(run, index: int) -> list[str]:
    """The finished answer's copy button puts its Markdown on the clipboard."""
    button = run.page.locator(".jp-Notebook .jp-CodeCell").nth(index).locator(".jp-RenderedMarkdown .oaim-copy")
    if button.count() != 1:
        return [f"no copy button on the finished answer ({button.count()} found)"]
    button.click()
    copied = run.page.evaluate("navigator.clipboard.readText()")
    label = button.text_content()
    if not copied.startswith("### Offline answer") or label != "Copied":
        return [f"the copy button did not copy the answer: {label!r}, clipboard {copied[:60]!r}"]
    return []


def check_usage(run) -> list[str]:
    out = cell(run, 4)
    if out["rows"] is None:
        return [f"no usage table (table.oaim-usage) in the output: {out['text'][:300]!r}"]
    problems = []
    if len(out["rows"]) != 2 or not all("chat" in r and any("gpt-4o-mini" in c for c in r) for r in out["rows"]):
        problems.append(f"the usage table does not show the two %%chat calls: {out['header']} {out['rows']}")
    if "Total: 2 calls · $0.00064 · $0.00064 saved by the cache" not in out["oursText"]:
        problems.append(f"the dollar amounts are not shown as text: {out['text'][-200:]!r}")
    answer = cell(run, 2)
    if "· $0.00064 ·" not in answer["oursText"]:
        problems.append(f"the usage line under the answer lost its dollar amount: {answer['oursText']!r}")
    if out["oursMaths"] or answer["oursMaths"]:
        problems.append(f"MathJax typeset our figures ({out['oursMaths']} + {answer['oursMaths']} nodes)")
    if out["wrapped"]:
        problems.append(f"table cells wrapped at {USAGE.width} px: {out['wrapped']}")
    left = {h for h, a in out["align"].items() if a in ("left", "start")}
    if left != {"cell", "magic", "model", "cache"}:
        problems.append(f"figures not right-aligned, or names not left-aligned: {out['align']}")
    if not {"calls", "USD", "$0.00064", "2"} <= set(out["chart"]):
        problems.append(f"the cumulative chart lacks its axes or its last value: {out['chart']}")
    run.driver.output_screenshot(run, 4, f"{run.name}-table")
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


# The audio player a result shows (and a saved notebook keeps): does the browser load it as audio?
AUDIO_JS = """async (i) => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[i];
  const audio = cell.querySelector('audio');
  if (!audio) return {text: cell.querySelector('.jp-OutputArea')?.innerText ?? ''};
  // As the page shows it, untouched: the player reads its duration by itself (not "0:00 / 0:00" until pressed).
  const loaded = audio.readyState >= 1 || await new Promise((done) => {
    audio.onloadedmetadata = () => done(true); audio.onerror = () => done(false); setTimeout(() => done(false), 8000); });
  return {loaded, duration: audio.duration, controls: audio.controls, type: audio.src.slice(5, audio.src.indexOf(';')),
          rows: cell.querySelectorAll('table.oaim-transcript tbody tr').length,
          text: cell.querySelector('.jp-OutputArea').innerText};
}"""


def check_audio(run) -> list[str]:
    problems = []
    speech, transcript = run.page.evaluate(AUDIO_JS, 1), run.page.evaluate(AUDIO_JS, 3)
    for name, seen in (("speech", speech), ("transcript", transcript)):
        if not seen.get("loaded") or not seen.get("controls") or not seen.get("duration", 0) > 1:
            problems.append(f"the {name}'s audio player did not load as playable audio: {seen}")
    if speech.get("type") != "audio/mpeg" or "Speech:" not in speech.get("text", ""):
        problems.append(f"the speech shows no mp3 player and summary: {speech}")
    if transcript.get("rows") != 2 or "How are you today?" not in transcript.get("text", ""):
        problems.append(f"the transcript shows no timed segments under its player: {transcript}")
    return problems


OVER_SETUP = """%load_ext openai_magics
%openai offline
import openai_magics
openai_magics.session().offline_server.latency = 0.25  # slow enough to watch the rows go by
items = [f"row {i}" for i in range(40)]"""
# The progress of a run over rows: a bar and one line (done/total, tokens, USD so far, ETA).
ROWS_PROBE = """() => {
  const box = document.querySelector('.jp-CodeCell:nth-child(2) .widget-hbox');
  return box && {line: box.textContent, shown: box.offsetParent !== null};
}"""


def check_row_progress(run) -> list[str]:
    problems = []
    lines = [s["line"] for s in run.samples if s["shown"]]
    if not any(re.search(r"\b([1-9]|[1-3]\d)/40 done .*\$[\d.]+ so far · ETA \d+ s", line) for line in lines):
        problems.append(f"no live count of the rows, dollars and ETA while they ran: {lines[:3]}")
    out = cell(run, 1)
    if "widget-hprogress" in out["html"]:
        problems.append("the row progress did not step aside when done")
    if "40/40 rows answered" not in out["text"]:
        problems.append(f"no result line under the cell: {out['text'][-300:]!r}")
    return problems


STREAM = ViewCase("stream", [SETUP, CHAT], check_stream, probe=STREAM_PROBE)
SECOND_CHAT = """%%chat -m gpt-4.1-mini
What is a p-value? (offline: 400 tokens)"""


def check_second_answer(run) -> list[str]:
    """The kernel's second answer streams through the same channel, rendered as Markdown as well: the page kept
    the module and the renderer that only the first answer's opening carried."""
    second = [s for s in run.samples if s["cell"] == 2]
    problems = check_stream(run) + check_live(second) + check_copy(run, 2)
    if second and not all(s["stats"].startswith("gpt-4.1-mini · ") for s in second):
        problems.append(f"the second answer's counters name another model: {second[-1]['stats']!r}")
    return problems


STREAM_TWICE = ViewCase("stream-twice", [SETUP, CHAT, SECOND_CHAT], check_second_answer, probe=STREAM_PROBE)
PROGRESS = ViewCase("embed-progress", [EMBED_SETUP, "%embed --input texts"], check_progress, probe=PROGRESS_PROBE)
PRICED = "%%chat -m gpt-4o-mini\nWhat is Euler's identity? (offline: 1060 tokens)"  # $0.00064
USAGE = ViewCase("usage", ["%load_ext openai_magics\n%openai offline", "%openai cache on usage-cache.db\n%openai cache clear", PRICED, PRICED,
                           "%openai usage"], check_usage, width=900)
AUDIO = ViewCase("audio", ["%load_ext openai_magics\n%openai offline",
                           "%%speak -m tts-1 -o said\nHello there. How are you today?", "clip = bytes(said)",
                           "%%transcribe -m whisper-1\nclip"], check_audio)
GALLERY_SETUP = """%load_ext openai_magics
%openai offline
import openai_magics
openai_magics.session().offline_server.chunk_delay = 0.4  # partial images slow enough to watch"""
GALLERY = """%%image -m gpt-image-1 --size 1024x1024 --quality low
A paper boat on a pond"""
# While the image is drawn: the progress line and the partial image the live view shows.
PARTIAL_PROBE = """() => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[1];
  const label = cell && [...cell.querySelectorAll('.widget-html')].map(e => e.textContent).join(' ');
  if (!label || !label.includes('drawing')) return null;
  const img = cell.querySelector('img.widget-image');
  return {label, partial: !!img && img.offsetParent !== null && img.naturalWidth > 0,
          shot: label.includes('partial image 2')};
}"""
GALLERY_JS = """(i) => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[i];
  const imgs = [...cell.querySelectorAll('.oaim-gallery img')];
  const caption = cell.querySelector('.oaim-gallery figcaption');
  return {images: imgs.map(m => ({loaded: m.complete && m.naturalWidth > 0, width: m.getBoundingClientRect().width})),
          caption: caption ? caption.textContent : null,
          captionColour: caption ? getComputedStyle(caption).color : null,
          background: getComputedStyle(document.body).backgroundColor,
          live: !!cell.querySelector('img.widget-image')};
}"""


def _luminance(colour: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", colour)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def check_gallery(run) -> list[str]:
    problems = []
    partial = [s for s in run.samples if s["partial"]]
    if not any("partial image 2" in s["label"] for s in partial):
        problems.append(f"the live view did not show the partial images as they came: {run.samples[:4]}")
    page = run.page
    shown = page.evaluate(GALLERY_JS, 1)
    if len(shown["images"]) != 1 or not all(i["loaded"] for i in shown["images"]):
        problems.append(f"the gallery does not show its one image: {shown}")
        return problems
    if shown["live"]:
        problems.append("the live view (partial images) did not step aside when done")
    if not 0 < shown["images"][0]["width"] <= 260:  # 256 px and its border
        problems.append(f"the image is not a thumbnail: {shown['images'][0]['width']} px wide")
    if not shown["caption"] or "1024x1024 · low · $" not in shown["caption"]:
        problems.append(f"no caption (size, quality, cost) under the image: {shown['caption']!r}")
    if abs(_luminance(shown["captionColour"]) - _luminance(shown["background"])) < 0.4:
        problems.append(f"the caption is hard to read: {shown['captionColour']} on {shown['background']}")
    page.locator(".oaim-gallery img").first.click()
    page.wait_for_timeout(300)
    enlarged = page.evaluate(GALLERY_JS, 1)["images"][0]["width"]
    run.driver.output_screenshot(run, 1, f"{run.name}-enlarged")
    if enlarged <= 400:
        problems.append(f"a click did not enlarge the image ({enlarged} px wide)")
    return problems


GALLERY_CASE = ViewCase("gallery", [GALLERY_SETUP, GALLERY], check_gallery, probe=PARTIAL_PROBE)
COMPARE_JS = """() => [...document.querySelectorAll('.openai-magics-compare > div')].map(col => {
  const box = col.getBoundingClientRect();
  return {top: Math.round(box.top), left: Math.round(box.left), width: Math.round(box.width),
          model: col.firstElementChild.textContent, usage: col.querySelector('sub')?.innerText ?? '',
          heading: col.querySelector('h3')?.textContent ?? null, bold: col.querySelector('strong')?.textContent ?? null,
          code: col.querySelector('pre code')?.textContent ?? null, maths: col.querySelectorAll('mjx-container').length,
          raw: ['###', '**', '```'].filter(mark => col.innerText.includes(mark)),
          usageMaths: col.querySelector('sub')?.querySelectorAll('mjx-container').length ?? 0};
})"""


def check_compare(run) -> list[str]:
    columns = run.page.evaluate(COMPARE_JS)
    if [c["model"] for c in columns] != ["gpt-4o-mini", "gpt-4.1-mini", "o4-mini"]:
        return [f"not one column per model, in order: {columns}"]
    problems = []
    if len({c["top"] for c in columns}) != 1 or [c["left"] for c in columns] != sorted({c["left"] for c in columns}):
        problems.append(f"the answers are not side by side: {columns}")
    if not all(re.search(r"\$[\d.]+ · \d\.\d s to first token · \d\.\d s", c["usage"]) for c in columns):
        problems.append(f"a column lacks its usage line with time to first token: {[c['usage'] for c in columns]}")
    for c in columns:  # each answer rendered as a single %%chat answer is: Markdown and its maths, figures plain
        if not (c["heading"] and c["bold"] and c["code"]) or c["raw"]:
            problems.append(f"{c['model']}: the answer's Markdown is not rendered (raw {c['raw']}, heading "
                            f"{c['heading']!r}, bold {c['bold']!r}, code {c['code']!r})")
        if not c["maths"] or c["usageMaths"]:
            problems.append(f"{c['model']}: {c['maths']} typeset formulas in the answer, {c['usageMaths']} in its "
                            "usage line (the answer's maths typeset, its figures not)")
    return problems


EVAL_SETUP = """%load_ext openai_magics
%openai offline
rows = [{"text": f"Review {i}: {'good' if i % 2 else 'bad'}", "label": "good"} for i in range(10)]"""
EVAL_CELL = """%%eval --data rows -m gpt-4o-mini,gpt-4.1-mini --expect label --grader contains
Classify: {text}"""


def check_scoreboard(run) -> list[str]:
    out = cell(run, 1)
    board = run.page.evaluate("""() => { const t = document.querySelector('table.openai-magics-scoreboard');
      return t && {rows: [...t.rows].map(r => [...r.cells].map(c => c.textContent)),
                   maths: t.querySelectorAll('mjx-container').length}; }""")
    if board is None:
        return [f"no scoreboard table: {out['text'][:300]!r}"]
    problems = []
    if board["rows"][0][:4] != ["model", "grader", "passed", "pass rate"] or len(board["rows"]) != 3:
        problems.append(f"the scoreboard lacks its header or a model: {board['rows']}")
    if [r[2] for r in board["rows"][1:]] != ["5/10", "5/10"] or not all(r[6].startswith("$") for r in board["rows"][1:]):
        problems.append(f"pass counts or dollar amounts wrong: {board['rows']}")
    if board["maths"]:
        problems.append(f"MathJax typeset the scoreboard's figures ({board['maths']} nodes)")
    return problems


FINETUNE_SETUP = SETUP + """
examples = [{"messages": [{"role": "user", "content": f"Question {i}"}, {"role": "assistant", "content": f"Answer {i}"}]}
            for i in range(12)]"""


def check_finetune_figures(run) -> list[str]:
    """The training cost's two dollar amounts read as text, not as maths ("0.00047𝑝𝑒𝑟𝑒𝑝𝑜𝑐ℎ…")."""
    seen = run.page.evaluate("""(i) => { const out = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[i]
      .querySelector('.jp-OutputArea'); return {text: out.innerText, maths: out.querySelectorAll('mjx-container, .MathJax').length}; }""", 1)
    problems = []
    if not re.search(r"training cost: \$[\d.]+ per epoch, \$[\d.]+ for \d+ epochs", seen["text"]):
        problems.append(f"the training cost does not read as two dollar amounts: {seen['text'][:300]!r}")
    if seen["maths"]:
        problems.append(f"MathJax typeset the finetune figures ({seen['maths']} nodes)")
    return problems


FINETUNE = ViewCase("finetune-prepare", [FINETUNE_SETUP, "%openai finetune prepare examples"], check_finetune_figures)
COMPARE = ViewCase("compare", [SETUP, "%%chat --compare gpt-4o-mini,gpt-4.1-mini,o4-mini\nWhat is a prime?"],
                   check_compare)
SCOREBOARD = ViewCase("scoreboard", [EVAL_SETUP, EVAL_CELL], check_scoreboard)
VIDEO_SETUP = """%load_ext openai_magics
%openai offline
import openai_magics
from openai_magics.offline.api.videos import Videos
openai_magics.session().offline_server.state.part(Videos).stage_seconds = 1.0  # a job slow enough to watch"""
VIDEO = """%%video --size 1280x720
A red fox trots through fresh snow at dawn"""
# While the job runs: the live view's line (status and progress) and its bar.
VIDEO_PROBE = """() => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[1];
  const label = cell && [...cell.querySelectorAll('.widget-html')].map(e => e.textContent).join(' ');
  if (!label || !label.includes('video on sora-2')) return null;
  const bar = cell.querySelector('.widget-hprogress, .widget-progress');
  return {label, bar: !!bar && bar.offsetParent !== null};
}"""
# The player once the cell is done: loaded and played for a moment, as a user pressing play would.
VIDEO_JS = """async (i) => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[i];
  const video = cell.querySelector('.oaim-video video');
  if (!video) return {found: false, text: cell.querySelector('.jp-OutputArea')?.innerText ?? ''};
  const reached = (event, state) => video.readyState >= state ? Promise.resolve() : new Promise((done) => {
    video.addEventListener(event, done, {once: true}); video.addEventListener('error', done, {once: true});
    setTimeout(done, 8000); });
  await reached('loadeddata', 2);
  let played = false;
  try { await video.play(); await new Promise((r) => setTimeout(r, 800)); played = video.currentTime > 0; video.pause(); }
  catch (e) { played = String(e); }
  return {found: true, readyState: video.readyState, duration: video.duration, width: video.videoWidth,
          height: video.videoHeight, error: video.error && video.error.code, played, controls: video.controls,
          summary: cell.querySelector('.oaim-video .oaim-prompt')?.textContent ?? null,
          usage: cell.querySelector('.oaim-video sub')?.innerText ?? null,
          live: !!cell.querySelector('.widget-html')};
}"""


def check_video(run) -> list[str]:
    problems = []
    labels = [s["label"] for s in run.samples if s["bar"]]
    if not any(re.search(r"in progress \d+%", label) for label in labels):
        problems.append(f"the live view did not show the job in progress with its percentage: {run.samples[:4]}")
    seen = run.page.evaluate(VIDEO_JS, 1)
    if not seen.get("found"):
        return problems + [f"no video player in the cell: {seen}"]
    if not (seen["readyState"] >= 2 and seen["duration"] > 0 and seen["played"] is True and seen["error"] is None):
        problems.append(f"the player did not load as playable video: {seen}")
    if (seen["width"], seen["height"], round(seen["duration"])) != (1280, 720, 4) or not seen["controls"]:
        problems.append(f"the player's video is not the 4 s 1280x720 asked, with controls: {seen}")
    if not seen["usage"] or "4 s video (1280x720) · $0.40" not in seen["usage"]:
        problems.append(f"no usage line (seconds, size, cost) under the player: {seen['usage']!r}")
    if seen["live"]:
        problems.append("the live view (status, progress) did not step aside when done")
    return problems


VIDEO_CASE = ViewCase("video", [VIDEO_SETUP, VIDEO], check_video, probe=VIDEO_PROBE)
# A new view (gallery, audio, batch progress) adds its ViewCase here: its cells, a probe if it is live, a check.
ROWS = ViewCase("row-progress", [OVER_SETUP, "%%chat --over items --concurrency 4\nSay {item}"],
                check_row_progress, probe=ROWS_PROBE)
HOSTED_SETUP = """%load_ext openai_magics
%openai offline
import pandas as pd
sales = pd.DataFrame({"units": [120, 135, 128, 150], "returns": [4, 6, 3, 5]})"""
# A cell's rendered answer: the citation numbers linked in the text, the numbered sources, the inline images.
HOSTED_JS = """(i) => {
  const md = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[i].querySelector('.jp-RenderedMarkdown');
  if (!md) return null;
  const links = [...md.querySelectorAll('a')].map(a => ({text: a.textContent, href: a.getAttribute('href')}));
  const sources = [...md.querySelectorAll('ol li')].map(li => li.innerText);
  const images = [...md.querySelectorAll('img')].map(img => ({loaded: img.complete && img.naturalWidth > 0,
                                                             width: img.naturalWidth, alt: img.alt}));
  const folded = [...md.querySelectorAll('details summary')].map(s => s.innerText);
  return {links, sources, images, folded, colour: getComputedStyle(md).color,
          background: getComputedStyle(document.querySelector('.jp-Notebook')).backgroundColor};
}"""


def check_hosted(run) -> list[str]:
    problems = []
    web = run.page.evaluate(HOSTED_JS, 1)
    if web is None:
        return ["the --web answer did not render as Markdown"]
    everest = "https://geo.offline.example/everest"
    if {"text": "[1]", "href": everest} not in web["links"]:
        problems.append(f"no citation [1] linked to its source in the text: {web['links']}")
    if not web["sources"] or "Mount Everest (offline page)" not in web["sources"][0]:
        problems.append(f"no numbered source under the answer: {web['sources']}")
    chart = run.page.evaluate(HOSTED_JS, 2)
    if chart is None or not any(i["loaded"] and i["width"] > 100 and "chart.png" in i["alt"] for i in chart["images"]):
        problems.append(f"the chart the code interpreter made is not shown inline: {chart and chart['images']}")
    if chart and not any("code interpreter" in f for f in chart["folded"]):
        problems.append(f"the code it ran is not folded under the answer: {chart['folded']}")
    if chart and abs(_luminance(chart["colour"]) - _luminance(chart["background"])) < 0.4:
        problems.append(f"the answer is hard to read: {chart['colour']} on {chart['background']}")
    run.driver.output_screenshot(run, 1, f"{run.name}-citations")
    run.driver.output_screenshot(run, 2, f"{run.name}-chart")
    return problems


HOSTED = ViewCase("hosted-tools", [HOSTED_SETUP, "%%chat --web\nHow tall is Mount Everest?",
                                   "%%chat --python --file sales\nChart the sales."], check_hosted)
CASES = [STREAM, STREAM_TWICE, USAGE, PROGRESS, AUDIO, GALLERY_CASE, ROWS, COMPARE, SCOREBOARD, VIDEO_CASE, FINETUNE,
         HOSTED]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_view_in_jupyterlab(lab, case):
    run, problems = case.run(lab)
    assert problems == [], f"{case.name} in JupyterLab (screenshots: {run.screenshots}):\n" + "\n".join(problems)


def test_a_broken_front_end_module_fails_the_tier(lab):
    """stream.js with a syntax error (served to this kernel's widgets only): the same checks must object,
    while the answer itself still shows (the live view is an extra, not the answer)."""
    run, problems = STREAM.run(lab, kernel=BROKEN_KERNEL, suffix="-broken")
    print("problems seen with a broken stream.js:", *problems, sep="\n  ")
    assert "the live view (.oaim-stream) never appeared while the cell ran" in problems
    assert not [p for p in problems if p.startswith(("no rendered heading", "no usage line", "cell error"))]


def test_a_page_opened_on_a_running_kernel_asks_for_the_renderer_it_lacks(lab):
    """A second browser (nothing stored) opens the notebook while its kernel runs: the stream channel, restored
    from the kernel without its renderer, asks for it, and the next answer still streams as Markdown."""
    run, problems = STREAM.run(lab, suffix="-reattached")
    assert problems == [], problems
    again, problems = STREAM.run(lab, suffix="-reattached", settle_ms=3000)  # same kernel, a new page
    assert problems == [], f"the second page's answer (screenshots: {again.screenshots}):\n" + "\n".join(problems)


def test_a_page_opened_after_ipywidgets_loaded_still_streams(lab):
    """The first answer's channel is a bare comm; a cell then loads ipywidgets, after which a new page restores
    only the widgets ipywidgets knows of. The next answer opens a channel that page sees, and streams."""
    case = ViewCase("stream-ipywidgets", [SETUP, CHAT, "import ipywidgets"], check_stream, probe=STREAM_PROBE)
    run, problems = case.run(lab, suffix="-reattached")
    assert problems == [], problems
    again, problems = case.run(lab, suffix="-reattached", settle_ms=3000)  # same kernel, a new page
    assert problems == [], f"the second page's answer (screenshots: {again.screenshots}):\n" + "\n".join(problems)


def test_a_notebook_saved_mid_stream_reopens_without_a_widget_error(lab):
    """Saved (Ctrl+S) while the answer streams, reopened on a new kernel: no widget error, no live view."""
    saved = lab.lab.root / "saved-mid-stream.ipynb"

    def save_once(run, sample):
        if sample["chars"] > 300 and "oaim-live-" not in saved.read_text():
            run.page.keyboard.press("Control+s")
            for _ in range(50):
                if "oaim-live-" in saved.read_text():
                    break
                run.page.wait_for_timeout(100)

    slower = SETUP.replace("chunk_delay = 0.005", "chunk_delay = 0.01")  # ~4 s: long enough to save during it
    run = lab.run("saved-mid-stream", [slower, CHAT], probe=STREAM_PROBE, during=save_once)
    assert run.problems() == []
    chat_outputs = json.loads(saved.read_text())["cells"][1]["outputs"]
    assert chat_outputs, "the notebook was not saved while the answer streamed"
    assert all(WIDGET_MIME not in o.get("data", {}) for o in chat_outputs), chat_outputs  # only the placeholder
    lab.finish()  # its kernel is gone, as after a restart
    reopened = lab.reopen("saved-mid-stream")
    assert reopened.problems() == [], reopened.problems()
    assert reopened.page.locator(".oaim-stream").count() == 0


def test_views_in_the_dark_theme(lab):
    """The streaming answer, the finished one and the usage table in JupyterLab Dark: screenshots as artifacts."""
    run, problems = STREAM.run(lab, theme="dark", suffix="-dark")
    assert problems == [], problems
    run, problems = USAGE.run(lab, theme="dark", suffix="-dark")
    assert problems == [], problems
    dark = run.page.evaluate("getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim()")
    assert dark.lower() in ("#111111", "#111"), dark


def test_the_gallery_in_the_dark_theme(lab):
    """Thumbnails, captions and the enlarged image in JupyterLab Dark: readable, screenshots as artifacts."""
    run, problems = GALLERY_CASE.run(lab, theme="dark", suffix="-dark")
    assert problems == [], f"gallery in the dark theme (screenshots: {run.screenshots}):\n" + "\n".join(problems)
    dark = run.page.evaluate("getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim()")
    assert dark.lower() in ("#111111", "#111"), dark


def test_hosted_tools_in_the_dark_theme(lab):
    """Citations and the code interpreter's inline chart in JupyterLab Dark: readable, screenshots as artifacts."""
    run, problems = HOSTED.run(lab, theme="dark", suffix="-dark")
    assert problems == [], f"hosted tools in the dark theme (screenshots: {run.screenshots}):\n" + "\n".join(problems)
    dark = run.page.evaluate("getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim()")
    assert dark.lower() in ("#111111", "#111"), dark


def test_a_jupyterlab_dialog_over_the_notebook_is_closed_and_named_before_run_all(lab):
    """The tier's own harness: a dialog JupyterLab puts up (here File > Rename Notebook) takes the clicks Run
    All needs; it is closed, its text kept, and the cells run."""
    path = lab.write_notebook("dialog", ["1 + 1"], KERNEL)
    run = lab._open("dialog", path, 1280, "light")
    run.page.get_by_role("menuitem", name="File", exact=True).click()
    run.page.get_by_role("menuitem", name=re.compile(r"^Rename Notebook")).click()
    run.page.wait_for_selector(".jp-Dialog")
    lab._run_all_cells(run)
    lab._wait_until_done(run.page, run, None, 1, 60)
    assert len(run.dialogs) == 1 and "Rename" in run.dialogs[0]
    assert run.page.locator(".jp-Dialog").count() == 0
