"""The kit every magic shares: one parse path (quotes removed the same way everywhere), help on every magic
and subcommand, a hint for a slip, and the plain-Python facade over the same requests and results."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from IPython.core.error import UsageError

import openai_magics
from openai_magics.chat.result import ChatResult


def bodies(offline, path):
    return [r.body for r in offline.requests if r.path.endswith(path)]


def test_quoted_option_values_reach_the_request_without_quotes(nb, offline):
    nb.run('%%embed -m "text-embedding-3-large"\nriver')
    nb.run("%%chat -s 'It's fine' --no-stream\nhello")
    assert bodies(offline, "/embeddings")[-1]["model"] == "text-embedding-3-large"
    assert bodies(offline, "/chat/completions")[-1]["messages"][0] == {"role": "system", "content": "It's fine"}


def test_an_input_named_with_quotes_finds_the_column(nb, offline):
    import pandas as pd

    nb.ns["df"] = pd.DataFrame({"text": ["a cat", "a dog"]})
    ran = nb.run("%embed --input \"df['text']\"")
    assert ran.error is None and ran.result.texts == ["a cat", "a dog"]
    assert bodies(offline, "/embeddings")[-1]["input"] == ["a cat", "a dog"]


def test_a_line_prompt_after_the_options_is_sent_as_typed(nb, offline):
    nb.run('%chat --no-stream -t 0 What\'s "JSON"?  {"a": 1}')
    assert bodies(offline, "/chat/completions")[-1]["messages"][-1]["content"] == 'What\'s "JSON"?  {"a": 1}'


def test_a_trailing_comment_on_a_magic_line_is_dropped_as_python_drops_it(nb, offline):
    nb.run("%%embed -m text-embedding-3-large   # the big one\nriver")
    assert bodies(offline, "/embeddings")[-1]["model"] == "text-embedding-3-large"
    nb.run("%chat --no-stream -t 0 What is #1 in C#?  # a comment, not asked")
    assert bodies(offline, "/chat/completions")[-1]["messages"][-1]["content"] == "What is #1 in C#?"
    nb.run("%chat --no-stream 'a # in quotes' stays")
    assert bodies(offline, "/chat/completions")[-1]["messages"][-1]["content"] == "'a # in quotes' stays"
    ran = nb.run("%openai price gpt-4o-mini #per million")
    assert ran.error is None and "gpt-4o-mini" in ran.text
    assert nb.run("%openai   # status, commented").error is None


@pytest.mark.parametrize("cell, shows", [
    ("%openai usage -h", "%openai usage [--by"),
    ("%%chat -h\nignored", "%chat [-m MODEL]"),
    ("%embed --help", "%embed [-m MODEL]"),
    ("%tokens -h", "%tokens [-m MODEL]"),
    ("%openai -h", "usage       The ledger"),
    ("%openai cache -h", "%openai cache"),
])
def test_help_works_on_every_magic_and_subcommand(nb, offline, cell, shows):
    ran = nb.run(cell)
    assert ran.error is None and shows in ran.stdout
    assert offline.requests == []


def test_chat_help_lists_its_options_in_groups_with_the_prompt_among_the_positionals(nb, offline):
    shown = nb.run("%%chat -h\nignored").stdout
    groups = ["positional arguments", "options", "Structured output and function tools", "Images",
              "Hosted tools (Responses API)", "Notebook context", "Many answers", "Price and latency"]
    assert [line[:-1] for line in shown.splitlines() if line[:-1] in groups and line.endswith(":")] == groups
    assert "positional arguments:\n  prompt " in shown
    assert "Hosted tools (Responses API):\n  --web " in shown
    assert offline.requests == []


@pytest.mark.parametrize("cell, says", [
    ("%%chat --modle x\nhi", "unknown option --modle: did you mean --model?"),
    ("%embed --dimnesions 5 hi", "did you mean --dimensions?"),
    ("%openai usgae", "unknown subcommand 'usgae': did you mean usage?"),
    ("%openai usage --bye model", "did you mean --by?"),
    ("%%chat --max-tokens\nhi", "--max-tokens needs a value"),
])
def test_a_slip_is_one_line_with_a_hint_and_nothing_is_sent(nb, offline, cell, says):
    ran = nb.run(cell)
    assert isinstance(ran.error, UsageError) and says in ran.stderr
    assert "Traceback" not in ran.stderr and offline.requests == []


def test_a_bad_output_name_is_refused_before_anything_is_sent(nb, offline):
    ran = nb.run("%%chat -o 2x\nhi")
    assert "-o needs a Python name" in ran.stderr and offline.requests == []
    assert len(openai_magics.session().ledger) == 0


def test_chat_from_plain_python_returns_the_same_result_and_a_ledger_row(session, offline):
    result = openai_magics.chat("2+2?", model="gpt-4o-mini")
    assert isinstance(result, ChatResult) and "2+2?" in result.text
    assert result.requested_model == "gpt-4o-mini" and result.model == "gpt-4o-mini-2024-07-18"
    (record,) = session.ledger.records
    assert record.model == "gpt-4o-mini-2024-07-18" and record.cost > 0
    assert bodies(offline, "/chat/completions")[-1]["messages"] == [{"role": "user", "content": "2+2?"}]


@pytest.mark.parametrize("options, says", [
    ({"temperature": 5}, "--temperature must be between 0 and 2, not 5"),
    ({"max_tokens": 0}, "--max-tokens must be positive"),
    ({"api": "responses", "stop": ["x"]}, "not part of the Responses API"),
    ({"new_thread": True}, "--new starts a --thread afresh"),
])
def test_a_bad_request_from_plain_python_is_one_clear_error(session, offline, options, says):
    with pytest.raises(UsageError, match=says):
        openai_magics.chat("x", **options)
    assert offline.requests == [] and len(session.ledger) == 0


def test_the_plain_python_functions_are_functions_with_their_own_signatures_after_every_module_loads():
    """`help(openai_magics.chat)` shows chat's options, also once the capabilities' modules are imported."""
    code = ("import importlib, inspect, json, pkgutil, openai_magics\n"
            "for m in pkgutil.walk_packages(openai_magics.__path__, 'openai_magics.'):\n"
            "    if '.offline' not in m.name and not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
            "print(json.dumps({n: [inspect.isfunction(getattr(openai_magics, n)),\n"
            "                      list(inspect.signature(getattr(openai_magics, n)).parameters)[:2]]\n"
            "                  for n in openai_magics.__all__ if n not in ('session',)}))")
    shown = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                      timeout=120).stdout)
    assert all(is_function for is_function, _ in shown.values()), shown
    assert shown["chat"][1] == ["prompt", "model"] and shown["evals"][1] == ["template", "data"]
    assert shown["video"][1] == ["prompt", "model"] and shown["moderation"][1] == ["texts", "model"]


def test_embed_from_plain_python_keeps_input_order(session, offline):
    result = openai_magics.embed(["tea", "coffee", "tea"])
    assert result.texts == ["tea", "coffee", "tea"] and result.shape[0] == 3
    assert result.search("tea", k=1)["text"].iloc[0] == "tea"


def test_the_body_is_built_once_for_sending_and_for_the_dry_run(nb, offline):
    dry = nb.run("%%chat --dry-run --api chat -t 0 --max-tokens 50\nSame body?").result
    nb.run("%%chat --api chat -t 0 --max-tokens 50 --no-stream\nSame body?")
    sent = bodies(offline, "/chat/completions")[-1]
    assert {k: v for k, v in dry.body.items() if k not in ("stream", "stream_options")} == sent


def test_every_magic_of_a_capability_is_declared_when_the_extension_loads():
    """The names declared at `%load_ext` are exactly what each class provides, so no magic appears late."""
    import importlib

    for target, declared in openai_magics.MAGICS.items():
        module, name = target.split(":")
        provided = getattr(importlib.import_module(module), name).magics
        kinds = {magic: "line_cell" if magic in provided["line"] and magic in provided["cell"]
                 else "line" if magic in provided["line"] else "cell"
                 for magic in {*provided["line"], *provided["cell"]}}
        assert kinds == declared, target

