"""The cost levers (issue 31): prompt caching of shared prefixes, service tiers, the cost planner, logprobs and
background responses, against the offline server."""
from __future__ import annotations

from decimal import Decimal

import pytest

SYSTEM = "You classify support tickets for a bicycle shop. " + " ".join(
    f"Rule {n}: a ticket that mentions part number {n * 37} goes to the workshop queue." for n in range(1, 120))


def last(session):
    return session.ledger.records[-1]


def test_a_shared_2000_token_system_prompt_is_cached_for_a_different_question(nb, session, offline):
    from openai_magics.facts.tokens import count_text
    from openai_magics.metering.pricing import token_prices

    nb.ns["rules"] = SYSTEM
    assert count_text(SYSTEM, "gpt-4o-mini").tokens >= 2000
    first = nb.run('%%chat -m gpt-4o-mini --system "{rules}" --no-stream\nMy chain slips on hills.')
    assert first.error is None and last(session).usage.cached_tokens == 0
    second = nb.run('%%chat -m gpt-4o-mini --system "{rules}" --no-stream\nWhere do I send part 74?')
    record = last(session)
    assert record.usage.cached_tokens >= 1024 and record.usage.cached_tokens % 128 == 0
    assert record.usage.cached_tokens < record.usage.input_tokens  # the question is not cached
    u = record.usage
    cached_rate = token_prices("gpt-4o-mini").in_force().cache_read_mtok
    assert cached_rate < token_prices("gpt-4o-mini").in_force().input_mtok
    assert record.cost == ((u.input_tokens - u.cached_tokens) * Decimal("0.15") + u.cached_tokens * cached_rate
                           + u.output_tokens * Decimal("0.60")) / Decimal(1_000_000)
    assert f"({u.cached_tokens:,} cached)" in second.result.usage_line


def test_a_prefix_is_cached_per_key_and_only_from_1024_tokens(nb, session, offline):
    nb.ns["rules"] = SYSTEM
    nb.run('%%chat --system "{rules}" --cache-key shop --no-stream\nFirst question?')
    nb.run('%%chat --system "{rules}" --cache-key other --no-stream\nSecond question?')
    assert last(session).usage.cached_tokens == 0  # another key: another cache
    nb.run('%%chat --system "{rules}" --cache-key shop --cache-retention 24h --no-stream\nThird question?')
    assert last(session).usage.cached_tokens >= 1024
    sent = [r.body for r in offline.requests if r.path.endswith("/chat/completions")]
    assert [b.get("prompt_cache_key") for b in sent] == ["shop", "other", "shop"]
    assert sent[-1]["prompt_cache_retention"] == "24h"
    nb.run("%chat --no-stream a short question")
    nb.run("%chat --no-stream a short question, again")
    assert last(session).usage.cached_tokens == 0


def test_the_usage_table_shows_the_cached_share_per_model_and_for_the_session(nb, session, offline):
    nb.ns["rules"] = SYSTEM
    nb.run('%%chat --system "{rules}" --no-stream\nOne?')
    nb.run('%%chat --system "{rules}" --no-stream\nTwo?')
    table = nb.run("%openai usage --by model").result
    text = repr(table) + table._repr_html_()
    records = session.ledger.records
    share = sum(r.usage.cached_tokens for r in records) / sum(r.usage.input_tokens for r in records)
    assert "cached %" in text and f"{share:.0%}" in text
    assert f"{share:.0%} of input tokens read from the prompt cache" in table.summary()


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_tier_flex_is_sent_and_recorded_at_genai_prices_flex_price(nb, session, offline, api):
    from genai_prices import Usage as PricedUsage
    from genai_prices import calc_price

    ran = nb.run(f"%chat -m gpt-5-mini --api {api} --tier flex --no-stream What is flex processing?")
    assert ran.error is None
    [sent] = [r.body for r in offline.requests if r.path.endswith(("/chat/completions", "/responses"))]
    assert sent["service_tier"] == "flex"
    record = last(session)
    u = record.usage
    assert u.service_tier == "flex"
    priced = calc_price(PricedUsage(input_tokens=u.input_tokens, output_tokens=u.output_tokens,
                                    cache_read_tokens=u.cached_tokens, output_reasoning_tokens=u.reasoning_tokens),
                        model_ref="gpt-5-mini", provider_id="openai",
                        price_context={"service_tier": "flex"}).total_price
    default = calc_price(PricedUsage(input_tokens=u.input_tokens, output_tokens=u.output_tokens,
                                     output_reasoning_tokens=u.reasoning_tokens),
                         model_ref="gpt-5-mini", provider_id="openai").total_price
    assert record.cost == priced and priced < default
    assert "flex tier" in ran.result.usage_line


def test_flex_without_capacity_is_one_line_and_charges_nothing(nb, session, offline):
    offline.flex_unavailable()
    ran = nb.run("%chat --tier flex --no-stream hello")
    assert "Flex processing has no capacity" in str(ran.error) and "Traceback" not in ran.text
    assert len([r for r in offline.requests if r.path.endswith("/chat/completions")]) == 1  # not retried
    assert session.ledger.records == []


def test_flex_or_default_falls_back_once_and_says_so(nb, session, offline):
    offline.flex_unavailable()
    ran = nb.run("%chat --tier flex-or-default -o r hello")
    assert ran.error is None and nb.ns["r"].text
    tiers = [r.body.get("service_tier") for r in offline.requests if r.path.endswith("/chat/completions")]
    assert tiers == ["flex", "default"]
    [record] = session.ledger.records
    assert record.usage.service_tier == "default"
    assert "answered on the default tier" in nb.ns["r"].usage_line


def test_a_flex_request_waits_longer_than_the_first_byte_wait(nb, session, offline):
    session.configure(first_byte_timeout=0.3, flex_timeout=5.0)
    offline.latency = 0.6
    slow = nb.run("%chat --no-stream --tier flex -o r hello")
    assert slow.error is None and nb.ns["r"].text
    plain = nb.run("%chat hello")
    assert plain.error is not None and "Traceback" not in plain.text


def test_compare_and_chat_facade_take_a_tier(nb, session, offline):
    from openai_magics import chat

    nb.run("%%chat --compare gpt-4o-mini,gpt-4.1-mini --tier priority --no-stream\nHi")
    chat("Hi there", tier="flex")
    tiers = [r.body.get("service_tier") for r in offline.requests if r.path.endswith("/chat/completions")]
    assert tiers == ["priority", "priority", "flex"]
    assert [r.usage.service_tier for r in session.ledger.records] == ["priority", "priority", "flex"]


TICKETS = ["My chain slips on hills.", "Where do I send part 74?", "The bell is broken.", "Brakes squeal when wet."]


def test_over_dry_run_sends_nothing_and_the_real_run_stays_within_its_figures(nb, session, offline):
    nb.ns["rules"], nb.ns["tickets"] = SYSTEM, TICKETS
    cell = ('%%chat --over tickets -m gpt-5-mini --reasoning-effort minimal --system "{rules}" --max-tokens 120 '
            '--concurrency 1 MORE\nTicket: {item}')
    ran = nb.run(cell.replace("MORE", "--dry-run"))
    assert ran.error is None and offline.requests == [] and session.ledger.records == []
    plan = ran.result.plan
    shown = repr(ran.result) + ran.result._repr_html_()
    for how in ("now", "flex tier", "Batch API", "prefix cached", "nothing sent"):
        assert how in shown
    now, flex, batch, cached = (plan.line(h) for h in ("now", "flex tier", "Batch API", "prefix cached"))
    assert plan.requests == 4 and now.worst_output == 4 * 120
    assert flex.expected < now.expected and batch.expected < now.expected and cached.expected < now.expected
    assert cached.cached_tokens >= 3 * 1024

    real = nb.run(cell.replace("MORE", ""))
    assert real.error is None
    records = session.ledger.records
    assert len(records) == 4
    assert sum(r.usage.input_tokens for r in records) == now.input_tokens  # counted as the server counts
    assert sum(r.usage.cached_tokens for r in records) == cached.cached_tokens  # the prefix, as planned
    spent = sum(r.cost for r in records)
    assert 0 < spent <= cached.worst <= now.worst
    assert "prompt_cache_key" in offline.requests[0].body  # one key for the template's rows


def test_eval_and_embed_dry_runs_plan_the_whole_job_and_send_nothing(nb, session, offline):
    nb.ns["rows"] = [{"text": t, "label": "workshop"} for t in TICKETS]
    ran = nb.run("%%eval --data rows --expect label --grader contains --dry-run --tier flex\nRoute: {text}")
    assert ran.error is None and offline.requests == []
    assert ran.result.plan.requests == 4 and ran.result.plan.now.worst_output == 4 * 1024
    nb.ns["texts"] = TICKETS
    ran = nb.run("%embed --input texts --dry-run")
    assert ran.error is None and offline.requests == [], ran.text
    plan = ran.result.plan
    assert plan.requests == 4 and plan.line("Batch API").expected < plan.now.expected


@pytest.mark.parametrize("how", ["chat", "chat --no-stream", "responses", "responses --no-stream"])
def test_logprobs_give_each_token_a_sensible_probability_and_its_alternatives(nb, session, offline, how):
    ran = nb.run(f"%chat -m gpt-4.1-mini --api {how} --logprobs 3 -o r Name a colour.")
    assert ran.error is None
    table = nb.ns["r"].logprobs
    assert list(table.columns) == ["token", "probability", "logprob", "alternatives"]
    assert "".join(table.token) == nb.ns["r"].text
    for probability, alternatives in zip(table.probability, table.alternatives):
        assert 0 < probability <= 1 and len(alternatives) in (2, 3)
        assert probability + sum(alternatives.values()) <= 1 + 1e-9
    assert nb.ns["r"].confidence == table.probability[0]


def test_over_logprobs_give_a_confidence_column_that_orders_doubtful_rows_first(nb, session, offline):
    nb.ns["tickets"] = ["Chain slips (offline: confidence 0.93)", "Odd noise (offline: confidence 0.41)",
                        "Flat tyre (offline: confidence 0.99)", "Something? (offline: confidence 0.62)"]
    ran = nb.run("%%chat --over tickets --logprobs -m gpt-4.1-mini -o out\nRoute this ticket: {item}")
    assert ran.error is None
    table = ran.result.to_pandas()
    assert [round(c, 2) for c in table["confidence"]] == [0.93, 0.41, 0.99, 0.62]
    doubtful = table.sort_values("confidence")
    assert list(doubtful.index) == [1, 3, 0, 2]


def test_logprobs_of_a_reasoning_model_are_refused_before_sending(nb, session, offline):
    ran = nb.run("%chat -m o4-mini --logprobs hello")
    assert "returns no logprobs" in str(ran.error) and offline.requests == []


@pytest.fixture
def background_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_MAGICS_BACKGROUND_DIR", str(tmp_path / "background"))
    monkeypatch.setenv("OPENAI_MAGICS_BATCH_DIR", str(tmp_path / "batches"))
    return tmp_path / "background"


def test_a_background_response_survives_a_new_session_and_is_collected_once_recorded_once(
        nb, session, offline, background_dir):
    from openai_magics.core.config import Secret
    from openai_magics.core.session import reset_session
    from tests.conftest import TEST_KEY

    ran = nb.run("%%chat --background -o job\nWrite a long report on brakes.")
    job = nb.ns["job"]
    assert ran.error is None and job.status == "queued" and job.id.startswith("resp_")
    [sent] = [r.body for r in offline.requests if r.path.endswith("/responses")]
    assert sent["background"] is True
    assert session.ledger.records == []  # not priced until it completes
    assert job.id in nb.run("%openai jobs").stdout + repr(nb.run("%openai jobs").result)

    fresh = reset_session()  # the kernel restarted: only the id on disk remains
    fresh.configure(base_url=offline.base_url, api_key=Secret(TEST_KEY, "OPENAI_API_KEY"), bills="openai")
    assert job.id in repr(nb.run("%openai background list").result)
    collected = nb.run(f"%openai background collect {job.id}")
    first = collected.result
    assert first.status == "completed" and "Offline answer" in first.answer.text
    assert "background response: " not in collected.text  # the live status is gone: only the answer stays
    [record] = fresh.ledger.records
    assert record.cost > 0 and record.usage.output_tokens > 0
    again = nb.run(f"%openai background collect {job.id}").result
    assert again.answer.text == first.answer.text and len(fresh.ledger.records) == 1
    assert "not charged again" in repr(again)


def test_a_background_response_can_be_cancelled(nb, session, offline, background_dir):
    nb.run("%%chat --background -o job\nA long job.")
    cancelled = nb.run(f"%openai background cancel {nb.ns['job'].id}").result
    assert cancelled.status == "cancelled"
    assert nb.run(f"%openai background status {nb.ns['job'].id}").result.status == "cancelled"
    assert session.ledger.records == []
