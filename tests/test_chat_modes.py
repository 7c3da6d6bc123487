"""One chat path: every option in every mode (plain, --over, --compare, --batch, --thread, --dry-run, the
`chat()` facade, %%eval) either reaches the requests the server receives, as documented, or is one line with
nothing sent. The table walked is the one in code (chat/options.py: TAKES, NEEDS)."""
from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile

import pytest

from openai_magics.chat.options import DEFAULTS, NEEDS, TAKES

SETUP = '''
from pydantic import BaseModel
class Item(BaseModel):
    name: str
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b
from PIL import Image
img = Image.new("RGB", (32, 32), (30, 120, 200))
rows = ["alpha", "beta"]
erows = [{"text": "alpha", "label": "alpha"}]
x = "X1"
import pandas as pd
frame = pd.DataFrame({"n": [1, 2]})
notes = ["Alpha notes: the first letter."]
'''
PROMPT = "Reply in JSON to {x}"
WRITTEN = tempfile.mkdtemp(prefix="openai-magics-modes-")  # where --over --to writes (once per option)
atexit.register(shutil.rmtree, WRITTEN, ignore_errors=True)
# Each option: (the cell's words, chat()'s keywords, what the request shows when it was taken).
OPTIONS = {
    "model": ("-m gpt-4.1-mini", {"model": "gpt-4.1-mini"}, lambda b, s: b["model"] == "gpt-4.1-mini"),
    "system": ("-s Terse.", {"system": "Terse."}, lambda b, s: "Terse." in json.dumps(b.get("messages") or b)),
    "temperature": ("-t 0.3", {"temperature": 0.3}, lambda b, s: b["temperature"] == 0.3),
    "max_tokens": ("--max-tokens 50", {"max_tokens": 50},
                   lambda b, s: 50 in (b.get("max_tokens"), b.get("max_completion_tokens"), b.get("max_output_tokens"))),
    "stop": ("--stop END", {"stop": ["END"]}, lambda b, s: b["stop"] == ["END"]),
    "seed": ("--seed 7", {"seed": 7}, lambda b, s: b["seed"] == 7),
    "reasoning_effort": ("--reasoning-effort low", {"reasoning_effort": "low"},
                         lambda b, s: "low" in (b.get("reasoning_effort"), (b.get("reasoning") or {}).get("effort"))),
    "summary": ("--summary", {"reasoning_summary": True}, lambda b, s: b["reasoning"]["summary"] == "auto"),
    "thread": ("--thread t", {"thread": "t"}, lambda b, s: s.thread_used or s.mode == "dry_run"),
    "new": ("--thread t --new", {"thread": "t", "new_thread": True},
            lambda b, s: s.thread_used or s.mode == "dry_run"),
    "api": ("--api responses", {"api": "responses"}, lambda b, s: "input" in b),
    "no_stream": ("--no-stream", {"stream": True}, lambda b, s: ("stream" in b) == (s.mode == "facade")),
    "format": ("--format text", None, lambda b, s: "text/markdown" not in s.shown),
    "output": ("-o out", None, lambda b, s: "out" in s.ns),
    "quiet": ("-q", None, lambda b, s: s.ran.result is None),
    "no_interpolate": ("--no-interpolate", None, lambda b, s: "{x}" in json.dumps(b)),
    "no_cache": ("--no-cache", {"cache": False}, lambda b, s: True),
    "schema": ("--schema Item", {"schema": "Item"}, lambda b, s: "Item" in json.dumps(b)),
    "json": ("--json", {"json": True}, lambda b, s: "json_object" in json.dumps(b)),
    "tools": ("--tools add", {"tools": ["add"]}, lambda b, s: "add" in json.dumps(b["tools"])),
    "max_rounds": ("--tools add --max-rounds 2", {"tools": ["add"], "max_rounds": 2}, lambda b, s: "tools" in b),
    "image": ("--image img", {"images": ["img"]}, lambda b, s: "data:image/png;base64," in json.dumps(b)),
    "detail": ("--image img --detail low", {"images": ["img"], "detail": "low"},
               lambda b, s: '"detail": "low"' in json.dumps(b)),
    "compare": ("--compare gpt-4o-mini,gpt-4.1-mini", {"compare": "a,b"}, lambda b, s: len(s.bodies) == 2),
    "moderate": ("--moderate", {"moderate": True}, lambda b, s: s.mode == "dry_run" or s.moderated),
    "dry_run": ("--dry-run", {"dry_run": True}, lambda b, s: s.sent == []),
    "over": ("--over rows", {"over": "rows"}, lambda b, s: True),
    "concurrency": ("--concurrency 2", {"concurrency": 2}, lambda b, s: True),
    "batch": ("--batch", {"batch": True}, lambda b, s: s.batched),
    "no_wait": ("--no-wait", {"no_wait": True}, lambda b, s: s.batched),
    "context": ("--context x", {"context": "x"}, lambda b, s: "Variables from my notebook" in json.dumps(b)),
    "context_tokens": ("--context x --context-tokens 50", {"context": "x", "context_tokens": 50},
                       lambda b, s: "x: str, 2 characters" in json.dumps(b)),
    "web": ("--web", {"web": True}, lambda b, s: {"type": "web_search"} in b["tools"]),
    "domains": ("--web --domains geo.offline.example", {"web": True, "domains": "geo.offline.example"},
                lambda b, s: b["tools"][0]["filters"] == {"allowed_domains": ["geo.offline.example"]}),
    "location": ("--web --location Paris,FR", {"web": True, "location": "Paris,FR"},
                 lambda b, s: b["tools"][0]["user_location"]["city"] == "Paris"),
    "files": ("--files notes", {"files": "notes"}, lambda b, s: b["tools"][0]["type"] == "file_search"),
    "k": ("--files notes -k 2", {"files": "notes", "k": 2}, lambda b, s: b["tools"][0]["max_num_results"] == 2),
    "python": ("--python", {"python": True}, lambda b, s: b["tools"][0]["type"] == "code_interpreter"),
    "file": ("--python --file frame", {"python": True, "file": ["frame"]},
             lambda b, s: len(b["tools"][0]["container"]["file_ids"]) == 1),
    "tier": ("--tier flex", {"tier": "flex"}, lambda b, s: b["service_tier"] == "flex"),
    "cache_key": ("--cache-key k", {"cache_key": "k"}, lambda b, s: b["prompt_cache_key"] == "k"),
    "cache_retention": ("--cache-key k --cache-retention 24h", {"cache_key": "k", "cache_retention": "24h"},
                        lambda b, s: b["prompt_cache_retention"] == "24h"),
    "logprobs": ("--logprobs 2", {"logprobs": 2}, lambda b, s: b["top_logprobs"] == 2),
    "background": ("--background", {"background": True}, lambda b, s: b["background"] is True),
    "to": (f"--to {WRITTEN}/to.parquet", None, lambda b, s: os.path.isdir(f"{WRITTEN}/to.parquet")),
    "resume": (f"--to {WRITTEN}/resume.parquet --resume", None,
               lambda b, s: os.path.isdir(f"{WRITTEN}/resume.parquet")),
}
CELLS = {
    "plain": "%%chat {opts}\n" + PROMPT,
    "thread": "%%chat --thread t {opts}\n" + PROMPT,
    "dry_run": "%%chat --dry-run {opts}\n" + PROMPT,
    "compare": "%%chat --compare gpt-4o-mini,gpt-4.1-mini {opts}\n" + PROMPT,
    "over": "%%chat --over rows {opts}\nReply in JSON to {item} {x}",
    "batch": "%%chat --over rows --batch --no-wait {opts}\nReply in JSON to {item} {x}",
    "eval": "%%eval --data erows --expect label --grader contains {opts}\nReply in JSON to {text} {x}",
}
MODE_OPTIONS = {"over", "batch", "compare", "thread", "dry_run"}
CASES = [(mode, option) for mode in (*CELLS, "facade") for option in OPTIONS
         if option != mode and not (mode == "plain" and option in MODE_OPTIONS)
         and not (mode == "batch" and option in ("over", "no_wait")) and not (mode == "thread" and option == "new")]


def test_the_table_names_every_option_and_mode():
    assert set(OPTIONS) == set(DEFAULTS)
    assert set(TAKES) == {"plain", "thread", "dry_run", "compare", "over", "batch", "facade", "eval"}
    assert set(NEEDS) <= set(DEFAULTS)


class Seen:
    """What a cell did: the chat bodies the server received (or a dry run's), and what it showed."""

    def __init__(self, mode, ran, nb, offline):
        self.mode, self.ran, self.ns = mode, ran, nb.ns
        self.sent = [r for r in offline.requests if r.path.endswith(("/chat/completions", "/responses"))]
        self.moderated = any(r.path.endswith("/moderations") for r in offline.requests)
        self.batched = any(r.path.endswith("/batches") for r in offline.requests)
        self.shown = {kind for bundle in ran.outputs for kind in bundle}
        self.thread_used = "t: 1 turn" in nb.run("%openai threads").stdout
        self.bodies = [r.body for r in self.sent] or _planned(ran, nb) or _batch_lines(offline)


def _planned(ran, nb) -> list[dict]:
    plans = ran.result if ran.result is not None else nb.ns.get("out")
    plans = plans if isinstance(plans, list) else [plans]
    return [p.body for p in plans if hasattr(p, "body")]


def _batch_lines(offline) -> list[dict]:
    uploads = [r.files["file"] for r in offline.requests if r.path.endswith("/files") and "file" in r.files]
    return [json.loads(line)["body"] for u in uploads for line in u.data.decode().splitlines()]


def _takes(mode: str, option: str) -> bool:
    needed = NEEDS.get(option)
    words = OPTIONS[option][0]
    if needed and mode != "eval" and flag_of(needed) not in words and not (mode == needed or mode == "batch" and needed == "over"):
        return False
    return all(o in TAKES[mode] or o == mode for o in _options_in(words))


def flag_of(dest: str) -> str:
    return {"model": "-m", "k": "-k"}.get(dest) or "--" + dest.replace("_", "-")


def _options_in(words: str) -> set[str]:
    return {dest for dest in DEFAULTS if flag_of(dest) in words.split()}


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("batches")


@pytest.mark.parametrize("mode,option", CASES)
def test_every_option_in_every_mode_is_taken_or_one_line_with_nothing_sent(nb, offline, session, monkeypatch,
                                                                          batch_dir, mode, option):
    monkeypatch.setenv("OPENAI_MAGICS_BATCH_DIR", str(batch_dir))
    monkeypatch.setenv("OPENAI_MAGICS_STORE_DIR", str(batch_dir / "stores"))
    nb.run(SETUP)
    if option in ("files", "k") and "notes (" not in str(nb.run("%openai store list").result):
        assert nb.run("%openai store create notes notes").error is None
    offline.clear_log()
    words, keywords, shows = OPTIONS[option]
    if mode == "facade":
        if keywords is None:  # an option of the cell only (how it shows): chat() has no such keyword
            keywords = {option: True}
        ran = nb.run(f"import openai_magics\nout = openai_magics.chat({PROMPT!r}, {_keywords(keywords)})")
        taken = option in TAKES["facade"]
    else:
        ran = nb.run(CELLS[mode].replace("{opts}", words))
        taken = _takes(mode, option)
    if {mode, option} == {"over", "dry_run"} or (mode, option) == ("eval", "dry_run"):  # the cost planner's table
        assert ran.error is None and ran.result.plan.requests >= 1 and not any(
            r.path.endswith(("/chat/completions", "/responses")) for r in offline.requests)
        return
    seen = Seen(mode, ran, nb, offline)
    if not taken:
        assert type(ran.error).__name__ == "UsageError", (ran.error, ran.stdout)
        assert len(str(ran.error).splitlines()) == 1 and "Traceback" not in ran.stdout + ran.stderr
        assert seen.sent == [] and not seen.moderated and not seen.batched
        return
    assert ran.error is None, ran.error
    if mode == "dry_run" or option == "dry_run":
        assert seen.sent == [], "a dry run sends nothing"
    if option == "quiet" and mode == "dry_run":
        assert ran.result is None and ran.outputs == []
        return
    assert seen.bodies, "the request reached the server (or the dry run)"
    assert all(shows(body, seen) for body in seen.bodies), seen.bodies


def _keywords(keywords: dict) -> str:
    """chat()'s keywords as Python source; schemas, tools and images are the notebook's objects by name."""
    def source(name, value):
        if name == "schema":
            return value
        if name in ("tools", "images", "file"):
            return f"[{', '.join(value)}]"
        return repr(value)

    return ", ".join(f"{name}={source(name, value)}" for name, value in keywords.items())


@pytest.mark.parametrize("options", ["", "-s Terse. -t 0.3 --max-tokens 50 --seed 7", "-m gpt-4.1-mini -t 0"])
def test_eval_and_chat_send_identical_bodies_for_the_same_prompt_model_and_options(nb, offline, session, options):
    nb.ns["erows"] = [{"text": "alpha", "label": "alpha"}]
    defaults = "" if "-t" in options else "-t 0"  # an eval asks at temperature 0 unless told otherwise
    defaults += "" if "--max-tokens" in options else " --max-tokens 1024"
    nb.run(f"%%eval --data erows --expect label --grader contains {options}\nSay {{text}}")
    nb.run(f"%%chat --no-stream {options} {defaults}\nSay alpha")
    evaluated, chatted = [r.body for r in offline.requests if r.path.endswith("/chat/completions")]
    assert evaluated.pop("prompt_cache_key").startswith("openai-magics-")  # the eval's rows share one cache key
    assert evaluated == chatted and evaluated["messages"][-1]["content"] == "Say alpha"
    assert "max_tokens" in evaluated  # what this (compatible) server knows, as %%chat sends it


def test_eval_estimates_usage_a_server_omits_as_chat_does(nb, offline, session):
    offline.behave_like("no_usage")
    nb.ns["erows"] = [{"text": "alpha", "label": "alpha"}]
    ran = nb.run("%%eval --data erows --expect label --grader contains -o ev\nSay {text}")
    assert ran.error is None and nb.ns["ev"].rows["error"].isna().all()
    record = session.ledger.records[-1]
    assert record.magic == "eval" and record.estimated and record.usage.output_tokens > 0


def test_over_moderates_every_row_and_marks_a_flagged_one(nb, offline, session):
    from openai_magics.views.row_results import RowError

    nb.ns["rows"] = ["a gardening tip", "how to [[flag:illicit]] things", "a story (offline: unsafe answer)"]
    ran = nb.run("%%chat --over rows --moderate -o out\nWrite {item}")
    out = nb.ns["out"]
    assert ran.error is None and isinstance(out[0], str)
    assert isinstance(out[1], RowError) and "Refused before sending" in out[1].message
    assert isinstance(out[2], RowError) and "moderation flagged the answer" in out[2].message
    prompts = [r.body["messages"][-1]["content"] for r in offline.requests if r.path.endswith("/chat/completions")]
    assert sorted(prompts) == ["Write a gardening tip", "Write a story (offline: unsafe answer)"]
    assert sum(r.path.endswith("/moderations") for r in offline.requests) >= 5  # 3 prompts, 2 answers


def test_a_live_view_shows_the_prices_of_the_session_the_call_runs_in(nb, offline, session):
    """chat(..., session=other): the live counter prices the answer at that session's rates, not the global's."""
    from decimal import Decimal

    from openai_magics.chat.stream_view import WidgetStreamView
    from openai_magics.core.config import Secret
    from openai_magics.metering.pricing import user_prices
    from openai_magics.metering.session import MeteredSession
    from tests.conftest import TEST_KEY

    class Recorded(WidgetStreamView):
        """The live view as it is, keeping a copy of each message it sends to the page."""

        def __init__(self):
            super().__init__()
            self.sent = []

        def _send(self, **message):
            self.sent.append(message)
            super()._send(**message)

    other = MeteredSession()
    other.configure(base_url=offline.base_url, api_key=Secret(TEST_KEY, "OPENAI_API_KEY"), bills="openai")
    for model in ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"):  # the name asked for, the snapshot that answers
        other.prices[model] = user_prices(model, Decimal(1000), Decimal(1_000_000))  # $1 an output token
    view = Recorded()
    import openai_magics

    result = openai_magics.chat("Count (offline: 60 tokens)", model="gpt-4o-mini", stream=True, view=view,
                                session=other)
    counters = [(m["n"], m["c"]) for m in view.sent if m.get("c")]
    assert counters, view.sent
    assert all(c == f"≈${n:,}.00 out" for n, c in counters), counters  # the other session's $1 a token
    assert result.record.cost > 50 and session.ledger.records == []  # charged to the other session alone


def test_chat_names_its_own_keywords_when_refusing_one(nb, offline):
    ran = nb.run("import openai_magics\nopenai_magics.chat('hi', moderate=True)")
    assert type(ran.error).__name__ == "UsageError" and offline.requests == []
    message = str(ran.error)
    assert message.startswith("chat() does not take moderate=; it takes api, background, cache, cache_key, "
                              "cache_retention, context, context_tokens, detail, domains, dry_run, file, files, "
                              "images, json, k, location,")
    assert "new_thread" in message and "reasoning_summary" in message and "no_cache" not in message
