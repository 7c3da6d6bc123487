"""Fine-tuning from the notebook: checking a training set, a job over the offline server, the fine-tuned model."""
from __future__ import annotations

import json

import pytest
import tiktoken

from openai_magics.metering.pricing import training_cost
from openai_magics.offline.api.files import Files
from openai_magics.offline.api.fine_tuning import FineTuning

GOOD = [
    {"messages": [{"role": "system", "content": "You answer in French."},
                  {"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Bonjour"}]},
    {"messages": [{"role": "user", "content": "What is the weather in Paris?"},
                  {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {
                      "name": "weather", "arguments": "{\"city\": \"Paris\"}"}}]},
                  {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
                  {"role": "assistant", "content": "Il fait beau à Paris."}]},
]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch, server):
    """Job ids are kept beside the response cache: here, in a folder of the test's own. The shared server
    forgets the training files afterwards (other tests list files)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("OPENAI_MAGICS_FINETUNE_DIR", str(tmp_path / "cache" / "openai-magics"))
    yield
    files = server.state.part(Files)
    for stored in files.all():
        if stored.purpose == "fine-tune":
            files.remove(stored.id)


@pytest.fixture
def fast_jobs(offline):
    clock = offline.state.part(FineTuning)
    before, clock.stage_seconds = clock.stage_seconds, 0.05
    yield clock
    clock.stage_seconds = before


def write(path, lines) -> str:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return str(path)


def test_three_kinds_of_mistakes_three_messages_and_no_upload(nb, offline, tmp_path):
    bad = write(tmp_path / "bad.jsonl", [
        GOOD[0],
        '{"messages": [{"role": "user", "content": "Hi"}',                                  # line 2: broken JSON
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "bot", "content": "Yo"}]},  # line 3: role
        {"messages": [{"role": "user", "content": "Hi"}]},                                  # line 4: no assistant
    ])
    ran = nb.run(f"%openai finetune prepare {bad}")
    assert ran.error is None
    assert [str(p) for p in ran.result.problems] == [
        "line 2: not valid JSON (Expecting ',' delimiter at column 48)",
        "line 3: message 2: role 'bot' is not one of system, user, assistant, tool, function",
        "line 4: no assistant message to learn from",
    ]
    assert "3 problems; nothing uploaded" in ran.text
    started = nb.run(f"%openai finetune start {bad} --model gpt-4o-mini")
    assert "line 3: message 2: role 'bot'" in str(started.error) and "Traceback" not in started.text
    assert offline.requests == []


def test_empty_content_and_malformed_tool_calls_are_named(nb, tmp_path):
    bad = write(tmp_path / "tools.jsonl", [
        {"messages": [{"role": "user", "content": "  "}, {"role": "assistant", "content": "ok"}]},
        {"messages": [{"role": "user", "content": "go"}, {"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}]},
        {"messages": [{"role": "user", "content": "go"}, {"role": "tool", "tool_call_id": "c9", "content": "x"},
                      {"role": "assistant", "content": "done"}]},
    ])
    problems = [str(p) for p in nb.run(f"%openai finetune prepare {bad}").result.problems]
    assert problems == ["line 1: message 1: user message has empty content",
                        "line 2: message 2: tool call 1 (f): arguments must be a JSON string, got \"{'a': 1}\"",
                        "line 3: message 2: tool answer for 'c9', which no earlier assistant message called"]


def by_tiktoken(messages) -> int:
    enc = tiktoken.get_encoding("o200k_base")
    total = 3
    for m in messages:
        total += 3 + len(enc.encode(m["role"])) + len(enc.encode(m.get("content") or ""))
        for call in m.get("tool_calls", []):
            total += len(enc.encode(call["function"]["name"] + call["function"]["arguments"]))
    return total


def test_a_good_file_counts_tokens_as_tiktoken_does_and_prices_training(nb, offline, tmp_path):
    good = write(tmp_path / "good.jsonl", GOOD)
    ran = nb.run(f"%openai finetune prepare {good} -m gpt-4o-mini")
    report = ran.result.preparation
    assert report.problems == [] and report.exact and report.model == "gpt-4o-mini-2024-07-18"
    assert report.tokens == {1: by_tiktoken(GOOD[0]["messages"]), 2: by_tiktoken(GOOD[1]["messages"])}
    assert f"2 examples, {report.total:,} tokens" in ran.text and report.over_limit == []
    assert report.cost_per_epoch == training_cost("gpt-4o-mini-2024-07-18", report.total)
    assert report.cost_default == 3 * report.cost_per_epoch
    assert offline.requests == []


def test_a_list_of_conversations_in_the_notebook_is_a_training_set(nb):
    nb.ns["conversations"] = [GOOD[0]["messages"], GOOD[1]]
    ran = nb.run("%openai finetune prepare conversations")
    assert ran.result.preparation.tokens.keys() == {1, 2}
    assert "no such file or notebook variable" in str(nb.run("%openai finetune prepare nothing_here").error)


def test_a_job_runs_to_succeeded_and_its_model_answers_in_chat(nb, session, offline, fast_jobs, tmp_path):
    good = write(tmp_path / "good.jsonl", GOOD)
    started = nb.run(f"%openai finetune start {good} --model gpt-4o-mini --suffix demo --epochs 2")
    assert started.error is None and started.result.status == "validating_files"
    upload, create = offline.requests
    assert upload.path == "/v1/files" and create.body["training_file"].startswith("file-")
    assert create.body["method"]["supervised"]["hyperparameters"]["n_epochs"] == 2

    done = nb.run("%openai finetune status")                     # the latest job, followed to the end
    job = done.result.job
    assert job.status == "succeeded" and job.fine_tuned_model.startswith("ft:gpt-4o-mini-2024-07-18:")
    assert job.trained_tokens == 2 * (by_tiktoken(GOOD[0]["messages"]) + by_tiktoken(GOOD[1]["messages"]))
    assert [s for s, _ in job.losses] == list(range(1, 9)) and "<svg" in done.outputs[-1]["text/html"]
    training = session.ledger.records[-1]
    assert training.model == job.fine_tuned_model and training.usage.input_tokens == job.trained_tokens
    assert training.cost == training_cost("gpt-4o-mini-2024-07-18", job.trained_tokens) > 0

    nb.run("%openai finetune status --once")                     # seen again: charged once
    assert len(session.ledger) == 1
    assert job.fine_tuned_model in nb.run("%openai models").result.data["models"]
    assert job.id in repr(nb.run("%openai finetune list").result)

    chat = nb.run(f"%%chat -m {job.fine_tuned_model}\nWho are you?")
    assert chat.error is None and f"I am the fine-tuned model `{job.fine_tuned_model}`" in str(chat.result)
    row = session.ledger.records[-1]
    assert row.model == job.fine_tuned_model
    from genai_prices import Usage as PricedUsage, calc_price

    tuned = calc_price(PricedUsage(input_tokens=row.usage.input_tokens, output_tokens=row.usage.output_tokens),
                       job.fine_tuned_model, provider_id="openai")
    assert tuned.model.id == "ft:gpt-4o-mini"  # genai-prices lists fine-tuned gpt-4o-mini: its price, not the table's
    assert row.cost == tuned.total_price > session.cost_of("gpt-4o-mini", row.usage)


def test_a_running_job_can_be_cancelled(nb, offline, tmp_path):
    good = write(tmp_path / "good.jsonl", GOOD)
    job_id = nb.run(f"%openai finetune start {good}").result.id
    cancelled = nb.run(f"%openai finetune cancel {job_id}")
    assert str(cancelled.result) == f"{job_id}: cancelled"
    assert nb.run(f"%openai finetune status {job_id}").result.status == "cancelled"
    again = nb.run(f"%openai finetune cancel {job_id}")
    assert "already finished" in str(again.error) and "Traceback" not in again.text


def test_with_a_budget_training_that_cannot_be_bounded_or_does_not_fit_is_refused_before_uploading(
        nb, session, offline, tmp_path):
    good = write(tmp_path / "good.jsonl", GOOD)
    nb.run("%openai budget 0.000001")
    for line in (f"%openai finetune start {good}", f"%openai finetune start {good} --epochs 1"):
        refused = nb.run(line)
        assert str(refused.error).startswith("Refused before uploading") and "Traceback" not in refused.text
    assert offline.requests == []


def test_a_validation_set_from_the_notebook_is_uploaded_beside_the_training_file(nb, offline, tmp_path):
    import pandas as pd

    nb.ns["held_out"] = pd.DataFrame({"messages": [GOOD[0]["messages"]]})
    good = write(tmp_path / "good.jsonl", GOOD)
    ran = nb.run(f"%openai finetune start {good} --validation held_out")
    training, validation, create = offline.requests
    assert ran.error is None and validation.files["file"].filename == "held_out.jsonl"
    assert create.body["validation_file"] != create.body["training_file"]
    assert json.loads(validation.files["file"].data) == {"messages": GOOD[0]["messages"]}


def test_a_refused_job_is_one_line(nb, offline, tmp_path):
    good = write(tmp_path / "good.jsonl", GOOD)
    offline.fail(400, message="The organization has reached its fine-tuning quota.", path="/v1/fine_tuning/jobs")
    ran = nb.run(f"%openai finetune start {good}")
    assert "fine-tuning quota" in str(ran.error) and "Traceback" not in ran.text


def test_from_plain_python_a_job_starts_and_is_followed_to_its_fine_tuned_model(session, offline, fast_jobs):
    import openai_magics
    from openai_magics.core.errors import UsageError

    done = openai_magics.finetune([GOOD[0]["messages"], GOOD[1]], model="gpt-4o-mini", epochs=1, wait=True)
    job = done.job
    assert job.status == "succeeded" and job.fine_tuned_model.startswith("ft:gpt-4o-mini-2024-07-18:")
    assert offline.requests[1].body["method"]["supervised"]["hyperparameters"]["n_epochs"] == 1
    assert [r.model for r in session.ledger.records] == [job.fine_tuned_model]  # the training, charged once
    sent = len(offline.requests)
    with pytest.raises(UsageError, match="no assistant"):
        openai_magics.finetune([[{"role": "user", "content": "Hello"}]])
    assert len(offline.requests) == sent  # a set with problems is not uploaded
