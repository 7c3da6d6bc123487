"""%%chat: streaming, both APIs, threads, interpolation, errors, interrupts (issue 4)."""
import re

import pytest

from tests.test_interrupt import interrupt_mid_stream

WIDGET = "application/vnd.jupyter.widget-view+json"


def sent_messages(offline):
    return [r.body["messages"] for r in offline.requests if r.path.endswith("/chat/completions")]


def test_streams_into_a_live_view_then_shows_markdown_and_usage(nb, offline):
    ran = nb.run("%%chat\nExplain streaming")
    live, final = ran.outputs[0], ran.outputs[-1]
    # The live view fills an empty placeholder: static viewers, re-runs and a notebook saved mid-stream see nothing
    assert re.fullmatch(r'<div class="oaim-live oaim-live-[0-9a-f]{32} mathjax_ignore tex2jax_ignore"></div>',
                        live["text/html"])
    assert live["text/plain"] == "" and WIDGET not in live
    stepped_aside = [o for o in ran.outputs if o.get(WIDGET, {}).get("model_id") == ""]
    assert stepped_aside, "when done, the live view's output is replaced by a hidden one"
    assert stepped_aside[0]["text/html"] == '<div class="oaim-live mathjax_ignore tex2jax_ignore"></div>'  # no id
    assert final["text/markdown"].startswith("### Offline answer")
    assert '<sub class="mathjax_ignore tex2jax_ignore">gpt-4o-mini-2024-07-18 · ' in final["text/markdown"]
    assert "$e^{i\\pi} + 1 = 0$" in final["text/markdown"]
    assert offline.requests[-1].body["stream"] is True
    assert offline.requests[-1].body["stream_options"] == {"include_usage": True}


def test_result_object_binds_and_quiet_shows_nothing(nb):
    ran = nb.run("%%chat -q -o answer\nHi")
    assert ran.result is None and ran.outputs == [] and ran.stdout == ""
    assert nb.ns["answer"].text.startswith("### Offline answer")
    nb.run("%chat hi")
    assert nb.run("x = _; x.model").result == "gpt-4o-mini-2024-07-18"


def test_options_reach_the_request(nb, offline):
    nb.run("%%chat -m gpt-4o -s 'Be brief.' -t 0.2 --max-tokens 20 --stop END --seed 7 --no-stream\nHi")
    body = offline.requests[-1].body
    assert body["model"] == "gpt-4o" and body["temperature"] == 0.2 and body["seed"] == 7
    assert body["max_tokens"] == 20 and body["stop"] == ["END"] and "stream" not in body
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}


def test_an_offline_answer_ends_at_a_sentence_boundary(nb):
    for prompt in ("hi", "Short note (offline: 120 tokens)", "Longer (offline: 333 tokens)"):
        result = nb.run(f"%chat --no-stream {prompt}").result
        assert result.text.endswith((".", "```\n")) and result.incomplete is None, result.text[-80:]


def test_token_limit_says_the_answer_is_incomplete(nb):
    ran = nb.run("%chat --max-tokens 5 hi")
    assert ran.result.incomplete and "token limit" in ran.result.incomplete
    assert "Incomplete answer" in ran.outputs[-1]["text/markdown"]


def test_thread_sends_history_rerun_replaces_and_new_resets(nb, offline):
    nb.run("%%chat --thread t\nfirst", cell_id="c1")
    nb.run("%%chat --thread t\nsecond", cell_id="c2")
    nb.run("%%chat --thread t\nthird", cell_id="c3")
    third = sent_messages(offline)[-1]
    assert [m["content"][:6] for m in third if m["role"] == "user"] == ["first", "second", "third"]
    assert [m["role"] for m in third] == ["user", "assistant", "user", "assistant", "user"]

    nb.run("%%chat --thread t\nsecond, edited", cell_id="c2")  # re-run the second cell
    rerun = sent_messages(offline)[-1]
    assert [m["content"] for m in rerun if m["role"] == "user"] == ["first", "second, edited"]
    nb.run("%%chat --thread t\nfourth", cell_id="c4")
    fourth = [m["content"] for m in sent_messages(offline)[-1] if m["role"] == "user"]
    assert fourth == ["first", "second, edited", "third", "fourth"]  # no duplicate of the second turn

    assert "t: 4 turns" in nb.run("%openai threads").stdout
    nb.run("%%chat --thread t --new\nfresh", cell_id="c5")
    assert [m["role"] for m in sent_messages(offline)[-1]] == ["user"]
    nb.run("%openai reset t")
    assert "No threads yet" in nb.run("%openai threads").stdout


def test_both_apis_stream_and_land_in_the_ledger_with_exact_usage(nb, session, offline):
    for api, path in (("chat", "/v1/chat/completions"), ("responses", "/v1/responses")):
        ran = nb.run(f"%%chat --api {api}\nHello")
        record = session.ledger.records[-1]
        assert offline.requests[-1].path == path and offline.requests[-1].body["stream"] is True
        assert not record.estimated and record.usage.output_tokens > 0 and record.cost > 0
        assert ran.result.api == api and ran.result.text.startswith("### Offline answer")
    chat, responses = session.ledger.records
    assert chat.usage == responses.usage


def test_auto_picks_chat_completions_off_openai(nb, offline):
    nb.run("%chat hi")
    assert offline.requests[-1].path == "/v1/chat/completions"


def test_responses_thread_uses_previous_response_id(nb, offline):
    nb.run("%%chat --api responses --thread r\none", cell_id="r1")
    nb.run("%%chat --api responses --thread r\ntwo", cell_id="r2")
    body = offline.requests[-1].body
    assert body["previous_response_id"].startswith("resp_") and body["input"] == [{"role": "user", "content": "two"}]


def test_rate_limit_is_retried_and_charged_once(nb, session, offline):
    offline.fail(429, retry_after=0.05)
    ran = nb.run("%chat hi")
    assert ran.error is None and ran.result.text
    assert [r.status for r in offline.requests] == [429, 200]
    assert len(session.ledger) == 1


def test_rate_limit_that_persists_says_it_was_retried(nb, session, offline):
    offline.fail(429, retry_after=0.01, times=10)
    ran = nb.run("%chat hi")
    assert "Still rate limited (429)" in ran.stdout and "retried 3 times" in ran.stdout
    assert "Traceback" not in ran.stdout and len(session.ledger) == 0


def test_insufficient_quota_is_not_retried(nb, offline):
    offline.fail(429, code="insufficient_quota", message="You exceeded your current quota.", times=5)
    ran = nb.run("%chat hi")
    assert "run out of quota" in ran.stdout and len(offline.requests) == 1


def test_server_errors_are_retried(nb, offline):
    offline.fail(500, times=2)
    assert nb.run("%chat hi").error is None
    assert [r.status for r in offline.requests] == [500, 500, 200]


def test_bad_key_is_one_line_without_the_key(nb, offline):
    offline.fail(401)
    ran = nb.run("%chat hi")
    assert "The API key was rejected (401)" in ran.stdout
    assert len([l for l in ran.stdout.splitlines() if l.strip()]) == 1


def test_context_length_exceeded_shows_tokens_and_window(nb):
    nb.ns["huge"] = "token " * 130_000
    ran = nb.run("%%chat -m gpt-4o-mini\n{huge}")
    assert "too long for gpt-4o-mini" in ran.stdout and "window 128,000 tokens" in ran.stdout
    assert re.search(r"resulted in 1300\d\d tokens", ran.stdout)


def test_cut_stream_keeps_partial_text_and_says_incomplete(nb, session, offline):
    offline.cut_stream(after_chunks=12)
    ran = nb.run("%chat hi")
    assert ran.error is None
    assert 0 < len(ran.result.text) < 200 and ran.result.text.startswith("### Offline")
    assert "stream was cut" in ran.result.incomplete
    assert "Incomplete answer" in ran.outputs[-1]["text/markdown"]
    record = session.ledger.records[-1]
    assert record.estimated and record.usage.output_tokens > 0


def test_interrupt_keeps_partial_answer_and_usage_and_kernel_works(nb, session, offline):
    offline.chunk_delay = 0.02
    stop = interrupt_mid_stream(offline)  # not after a fixed time: on a busy machine that can be before the stream
    ran = nb.run("%%chat -o partial\nLong please (offline: 400 tokens)")
    stop.join()
    assert isinstance(ran.error, KeyboardInterrupt)  # so a Run All stops
    assert "Interrupted: partial answer kept in partial" in ran.stdout
    assert "Traceback" not in ran.text and "KeyboardInterrupt" not in ran.text
    partial = nb.ns["partial"]
    assert partial.interrupted and partial.text.startswith("### Offline answer")
    shown = [o for o in ran.outputs if "text/markdown" in o]
    assert shown and "Interrupted" in shown[-1]["text/markdown"]
    record = session.ledger.records[0]
    assert record.interrupted and record.estimated and record.usage.output_tokens > 0
    assert "interrupted" in partial.usage_line and "≈" in partial.usage_line
    offline.chunk_delay = 0
    full = nb.run("%chat --no-stream Long please (offline: 400 tokens)").result
    assert len(partial.text) < len(full.text) and full.text.startswith(partial.text)
    assert nb.run("%chat still working").error is None


def test_bad_options_are_one_line_and_send_nothing(nb, offline, session):
    for cell in ["%%chat -t 5\nhi", "%%chat --max-tokens 0\nhi", "%%chat --api bogus\nhi", "%%chat\n   ",
                 "%%chat --new\nhi", "%%chat --api responses --stop X\nhi", "%%chat --reasoning-effort max\nhi"]:
        ran = nb.run(cell)
        assert ran.error is not None and "UsageError" in ran.stderr, cell
        assert "Traceback" not in ran.stderr + ran.stdout, cell
    assert offline.requests == [] and len(session.ledger) == 0


def test_terminal_view_streams_text_then_usage_line(session):
    import io

    from openai_magics.chat.engine import ChatRequest, run_chat
    from openai_magics.chat.stream_view import TerminalStreamView

    out = io.StringIO()
    result = run_chat(session, ChatRequest(prompt="hi", model="gpt-4o-mini"), TerminalStreamView(out))
    assert out.getvalue().startswith("### Offline answer") and result.text in out.getvalue()
    assert out.getvalue().rstrip().endswith(result.usage_line.split(" · ")[-1])


def test_a_one_line_question_keeps_its_question_mark(nb, offline):
    nb.run("%chat --no-stream What is a p-value?")
    assert sent_messages(offline)[-1][-1]["content"] == "What is a p-value?"
    assert "%chat [-m MODEL]" in nb.run("%chat?").stdout  # help is still there


def test_the_live_view_code_reaches_the_page_once_per_kernel(tmp_path, monkeypatch):
    """Three streamed answers in a real kernel: one widget model carries the module, the others none, and the
    notebook a headless run saves keeps the module once and not the 72 KB Markdown renderer."""
    import nbformat
    from nbclient import NotebookClient

    from conftest import ROOT

    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    cells = ["%load_ext openai_magics\n%openai offline"] + [f"%%chat\nQuestion {i}" for i in range(3)]
    cells.append("import sys\nprint('ipywidgets' in sys.modules)")  # a channel need not import it (~30 ms)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    assert notebook.cells[-1].outputs[0]["text"] == "False\n"
    answers = [c.outputs[-1]["data"]["text/markdown"] for c in notebook.cells[1:-1]]
    assert all(a.startswith("### Offline answer") for a in answers)
    models = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()
    modules = [m["state"] for m in models if m["state"].get("_esm")]
    assert len(modules) == 1 and "oaim-live-" in modules[0]["_esm"], [m["model_name"] for m in models]
    assert modules[0]["renderer"] == ""
    assert len(nbformat.writes(notebook)) < 40_000


@pytest.mark.parametrize("asked", [
    dict(messages=[{"role": "user", "content": "Explain (offline: 60 tokens)"}]),
    dict(messages=[{"role": "user", "content": "Explain (offline: 30 tokens)"}], logprobs=True, top_logprobs=2),
    dict(messages=[{"role": "user", "content": "What time is it in Paris? Use get_time."}], tools=[{
        "type": "function", "function": {"name": "get_time", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]),
], ids=["text", "logprobs", "tool-call"])
def test_a_stream_is_read_into_the_same_events_and_completion_as_the_sdks_own_state(session, asked):
    from openai.lib.streaming.chat import ChatCompletionStreamState

    from openai_magics.chat.stream_state import StreamState

    chunks = list(session.client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                         stream_options={"include_usage": True}, **asked))
    sdk, ours = ChatCompletionStreamState(), StreamState()
    seen = [[(e.type, getattr(e, "delta", None), getattr(e, "chunk", None)) for c in chunks for e in state.handle_chunk(c)
             if e.type in ("chunk", "content.delta")] for state in (sdk, ours)]
    assert seen[0] == seen[1] and len(seen[0]) >= len(chunks)
    final = ours.final()
    assert final.model_dump() == sdk.get_final_completion().model_dump()
    assert bool(final.choices[0].message.tool_calls) == ("tools" in asked)
