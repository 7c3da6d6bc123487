"""Every call is priced by genai-prices' own calculation: today's models, long-context tiers, dated prices,
service tiers; a price it cannot give is "unknown" with its reason, never a lost answer."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from genai_prices import calc_price, data_snapshot
from genai_prices import Usage as PricedUsage

from conftest import ROOT

# OpenAI's entries in genai-prices that are not chat models: embeddings, speech, transcription, images,
# realtime and live audio, moderation, the old completion models, and fine-tuned names (a job makes those).
NOT_CHAT = re.compile(r"embedding|tts|whisper|transcribe|image|realtime|live|moderation|instruct|search-api"
                      r"|^(ada|babbage|curie|davinci|text-)|ft[:-]|\.ft-")


def _names(clause):
    """The exact names a genai-prices match clause accepts."""
    if getattr(clause, "equals", None):
        yield clause.equals
    for part in getattr(clause, "or_", None) or ():
        yield from _names(part)


def openai_chat_models() -> list[str]:
    """A name to call each OpenAI chat model genai-prices lists by: its id, or the first exact name it matches."""
    provider = next(p for p in data_snapshot.get_snapshot().providers if p.id == "openai")
    names = []
    for model in provider.models:
        if NOT_CHAT.search(model.id):
            continue
        name = model.id if model.is_match(model.id) else next(_names(model.match), None)
        assert name is not None, f"genai-prices lists {model.id} under no name a call can use"
        names.append(name)
    return names


def genai_price(record, price_context=None) -> Decimal | None:
    """What genai-prices computes for a ledger record's usage and model at its time; None where it lists no
    token price for it."""
    u = record.usage
    usage = PricedUsage(input_tokens=u.input_tokens, output_tokens=u.output_tokens,
                        cache_read_tokens=u.cached_tokens, output_reasoning_tokens=u.reasoning_tokens)
    try:
        priced = calc_price(usage, record.model, provider_id="openai", genai_request_timestamp=record.time,
                            price_context=price_context)
    except LookupError:
        return None
    price = priced.model_price
    return None if price.input_mtok is None or price.output_mtok is None else priced.total_price


def test_the_list_holds_todays_models():
    names = openai_chat_models()
    assert {"o3", "gpt-5.4", "gpt-5.6-luna", "gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.5-cyber"} <= set(names)
    assert len(names) > 40


@pytest.mark.parametrize("model", openai_chat_models())
def test_every_openai_chat_model_genai_prices_lists_answers_and_is_priced_by_it(nb, session, offline, model):
    ran = nb.run(f"%%chat -m {model}\nSay hello.")
    assert ran.error is None, ran.stderr
    assert "Offline answer" in ran.result.text and ran.result is nb.ns["_"]
    [record] = session.ledger.records
    assert record.usage.input_tokens > 0 and record.usage.output_tokens > 0 and not record.estimated
    assert record.cost == genai_price(record, {"service_tier": "default"})
    if record.cost is None:
        assert "price unknown" in ran.result.usage_line


def test_a_snapshot_is_reported_and_priced(nb, session, offline):
    nb.run("%%chat -m gpt-5.4\nSay hello.")
    [record] = session.ledger.records
    assert record.model == "gpt-5.4-2026-03-05" and record.cost == genai_price(record) > 0


def test_a_long_prompt_on_gpt_5_4_is_billed_at_the_long_context_tier(nb, session, offline):
    offline.report_usage(prompt_tokens=300_000, completion_tokens=1_000)
    ran = nb.run("%%chat -m gpt-5.4\nSay hello.")
    [record] = session.ledger.records
    assert (record.usage.input_tokens, record.usage.output_tokens) == (300_000, 1_000)
    assert record.cost == Decimal("1.5225") == genai_price(record)  # the base rate would say $0.765
    assert "$1.52" in ran.result.usage_line


def test_a_budget_refuses_a_long_gpt_5_4_prompt_at_its_tier_before_sending(nb, session, offline):
    nb.run("%openai budget 1.00")
    prompt = "word " * 300_000  # 300,000 tokens: $1.5225 with 1,000 out, $0.765 at the base rate
    ran = nb.run(f"%%chat -m gpt-5.4 --max-tokens 1000\n{prompt}")
    assert "Refused before sending: worst case $1.5" in ran.stderr and len(ran.stderr.strip().splitlines()) == 1
    assert offline.requests == [] and len(session.ledger) == 0


def test_o3_answers_and_is_priced_at_todays_price(nb, session, offline):
    ran = nb.run("%chat -m o3 hi")
    assert ran.error is None and "Offline answer" in ran.result.text
    [record] = session.ledger.records
    assert record.model == "o3-2025-04-16"
    assert record.cost == genai_price(record) == (Decimal(record.usage.input_tokens) * 2
                                                  + Decimal(record.usage.output_tokens) * 8) / 1_000_000
    assert "Offline answer" in nb.run("_").result.text


def test_a_flex_answer_is_priced_at_flex(nb, session, offline):
    offline.report_usage(service_tier="flex")
    nb.run("%%chat -m o3\nSay hello.")
    [record] = session.ledger.records
    assert record.usage.service_tier == "flex" and session.ledger.rows()[0]["service_tier"] == "flex"
    flex, standard = genai_price(record, {"service_tier": "flex"}), genai_price(record)
    assert record.cost == flex == standard / 2


def test_price_o3_shows_its_price_then_and_now(nb):
    text = nb.run("%openai price o3").stdout
    assert "priced as o3, from genai-prices" in text
    assert "in force now: per million tokens: input $2, cached input $0.5, output $8" in text
    assert "until 2025-06-10: per million tokens: input $10" in text and "from 2025-06-10:" in text
    assert "service tier flex (from 2026-10-12): per million tokens: input $1," in text


def test_price_shows_the_long_context_tier(nb):
    text = nb.run("%openai price gpt-5.4").stdout
    assert "input $2.5 ($5 for every token once the prompt is over 272,000 tokens)" in text
    assert "processing batch" in text


def test_tokens_of_o3(nb):
    ran = nb.run("%tokens -m o3 Hello world, how are you")
    assert ran.error is None and ran.result.tokens == 6 and ran.result.count.exact
    assert "of the 200,000-token window" in str(ran.result) and "as input" in str(ran.result)
    assert ran.result.cost == Decimal(6) * 2 / 1_000_000


def test_a_listed_model_without_a_token_price_is_unknown_with_the_reason_and_keeps_its_answer(
        nb, session, offline, tmp_path):
    nb.run(f"%openai cache on {tmp_path / 'c.db'}")
    ran = nb.run("%%chat -m gpt-live-1\nSay hello.")
    assert ran.error is None and "Offline answer" in ran.result.text and nb.ns["_"] is ran.result
    [record] = session.ledger.records
    assert record.cost is None and record.usage.input_tokens > 0 and record.usage.output_tokens > 0
    assert "price unknown (no input or output token price for gpt-live-1)" in ran.result.usage_line
    again = nb.run("%%chat -m gpt-live-1\nSay hello.")
    assert again.result.text == ran.result.text and again.result.record.cache_hit
    assert len([r for r in offline.requests if r.path.endswith("/chat/completions")]) == 1


def test_the_cumulative_column_is_unknown_from_the_first_unknown_price_on(nb, session, offline):
    offline.any_model = True  # a compatible server's own model, priced by nobody
    nb.run("%%chat -m gpt-4o-mini\nOne.")
    nb.run("%%chat -m my-local-llama\nTwo.")
    nb.run("%%chat -m gpt-4o-mini\nThree.")
    table = nb.run("%openai usage").result
    shown = [line.split() for line in nb.run("%openai usage").outputs[-1]["text/plain"].splitlines()[1:4]]
    first = format(session.ledger.records[0].cost)
    assert [row[table.columns.index("cumulative")] for row in shown][1:] == ["unknown", "unknown"]
    assert table.to_pandas()["cumulative"].tolist()[1:] == ["unknown", "unknown"]
    assert shown[0][table.columns.index("cumulative")].startswith("$") and Decimal(first) > 0


def test_a_price_genai_prices_cannot_compute_is_unknown_with_the_reason_and_the_answer_kept(nb, session, offline):
    """Price data updated at run time (genai-prices' own update) with an entry it then refuses to compute."""
    from genai_prices.types import ClauseEquals, ModelInfo, ModelPrice, Provider

    broken = ModelInfo(id="gpt-4o-mini", match=ClauseEquals(equals="gpt-4o-mini"),
                       prices=ModelPrice(input_mtok=Decimal(-1), output_mtok=Decimal(1)))
    provider = Provider(id="openai", name="OpenAI", api_pattern=r"api\.openai\.com", models=[broken])
    data_snapshot.set_custom_snapshot(data_snapshot.DataSnapshot(providers=[provider], from_auto_update=True))
    try:
        ran = nb.run("%%chat -m gpt-4o-mini\nSay hello.")
        kept = nb.ns["_"]
        price = nb.run("%openai price gpt-4o-mini").stdout
    finally:
        data_snapshot.set_custom_snapshot(None)
    assert ran.error is None and "Offline answer" in ran.result.text and kept is ran.result
    [record] = session.ledger.records
    assert record.cost is None and record.usage.input_tokens > 0 and record.usage.output_tokens > 0
    assert "price unknown (genai-prices could not compute it (ValueError: Invalid price value" in ran.result.usage_line
    assert "input $-1" in price  # what genai-prices holds, shown as it is
    nb.run("%%chat -m gpt-4o-mini\nSay hello again.")
    assert session.ledger.records[-1].cost > 0  # the bundled prices again, once the update is gone


PRICE_IN_A_FRESH_PROCESS = (
    "import sys\n"
    "from IPython.core.interactiveshell import InteractiveShell\n"
    "sh = InteractiveShell.instance()\n"
    "sh.run_line_magic('load_ext', 'openai_magics')\n"
    "print(sh.run_line_magic('openai', 'price gpt-5.4'))\n"
    "print('read the whole tables:', 'genai_prices.data' in sys.modules)\n"
    "import gc\n"
    "print('collector on:', gc.isenabled())\n"
)


def test_a_later_kernel_reads_genai_prices_openai_prices_back_from_the_cache_folder(tmp_path):
    """genai-prices' tables of every provider take a fresh kernel's first answer ~17 ms to import: the OpenAI
    provider it built is kept (genai-prices' own objects) and read back by the next kernel, with the same prices;
    a file that cannot be read is made again."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    run = lambda: subprocess.run([sys.executable, "-c", PRICE_IN_A_FRESH_PROCESS], env=env, cwd=ROOT,  # noqa: E731
                                 capture_output=True, text=True, check=True).stdout.splitlines()
    first, later = run(), run()
    [kept] = (tmp_path / "openai-magics" / "prices").glob("genai-prices-openai-*.pickle")
    assert first[-2:] == ["read the whole tables: True", "collector on: True"]  # paused while they load, only
    assert later[-2:] == ["read the whole tables: False", "collector on: True"]
    assert first[:-2] == later[:-2] and "from genai-prices" in first[0] and "input $" in first[1]
    kept.write_bytes(b"not a pickle")
    assert run() == first and kept.stat().st_size > 1000
