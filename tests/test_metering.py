"""Every kind of call metered: images, audio, characters and fine-tuned models priced exactly, and a budget
that bounds each by its worst case and caps a chat answer instead of refusing it."""
import threading
from decimal import Decimal

import pytest
from IPython.core.error import UsageError

from openai_magics.metering.pricing import training_cost
from openai_magics.metering.usage import Usage

M = Decimal(1_000_000)


def record(session, model, usage, magic="test"):
    """What a capability does with a paid answer: its call records the usage in the ledger."""
    return session.begin(magic).record(model, usage)


# --- exact prices, by hand ----------------------------------------------------------------------

def test_gpt_image_1_text_and_image_input_and_image_output_tokens(session):
    answer = {"input_tokens": 1_250, "input_tokens_details": {"text_tokens": 50, "image_tokens": 1_200},
              "output_tokens": 4_160, "total_tokens": 5_410}
    row = record(session, "gpt-image-1", Usage.from_images(answer, 1, "1024x1024", "high"), "image")
    # $5 per million text tokens in, $10 per million image tokens in, $40 per million image tokens out
    assert row.cost == (50 * Decimal(5) + 1_200 * Decimal(10) + 4_160 * Decimal(40)) / M == Decimal("0.178650")
    assert row.usage.input_image_tokens == 1_200 and row.usage.output_image_tokens == 4_160


def test_a_whisper_1_minute(session):
    row = record(session, "whisper-1", Usage.from_transcription({"type": "duration", "seconds": 60}), "transcribe")
    assert row.cost == Decimal("0.006")  # $0.36 an hour is $0.006 a minute


def test_tts_1_by_characters(session):
    row = record(session, "tts-1", Usage(characters=1_234), "speak")
    assert row.cost == 1_234 * Decimal(15) / M == Decimal("0.01851")


def test_gpt_4o_transcribe_with_audio_tokens(session):
    answer = {"type": "tokens", "input_tokens": 1_000, "output_tokens": 120, "total_tokens": 1_120,
              "input_token_details": {"text_tokens": 100, "audio_tokens": 900}}
    row = record(session, "gpt-4o-transcribe", Usage.from_transcription(answer, seconds=95.0), "transcribe")
    # $2.50 per million text tokens in, $6 per million audio tokens in, $10 per million out; the 95 s
    # are recorded but the tokens are the bill
    assert row.cost == (100 * Decimal("2.5") + 900 * Decimal(6) + 120 * Decimal(10)) / M == Decimal("0.00685")
    assert row.usage.audio_seconds == 95.0


def test_dall_e_3_per_image_by_quality_and_size(session):
    row = record(session, "dall-e-3", Usage(images=2, image_size="1024x1792", image_quality="hd"), "image")
    assert row.cost == 2 * Decimal("0.12")
    unknown = record(session, "dall-e-3", Usage(images=1, image_size="1024x1024"), "image")
    assert unknown.cost == Decimal("0.08")  # quality not known: the dearest one bounds it


def test_a_fine_tuned_model_at_its_rates_under_its_name(nb, session, offline):
    name = "ft:gpt-4o-mini-2024-07-18:org::id"
    ran = nb.run(f"%chat -m {name} --no-stream hello")
    row = session.ledger.records[-1]
    assert offline.requests[-1].body["model"] == name
    assert row.model == name and ran.result.model == name  # answered as itself, not as its base
    u = row.usage
    # fine-tuned gpt-4o-mini: $0.30 in, $0.15 cached in, $1.20 out per million (base: $0.15 / $0.60)
    assert row.cost == ((u.input_tokens - u.cached_tokens) * Decimal("0.30") + u.cached_tokens * Decimal("0.15")
                        + u.output_tokens * Decimal("1.20")) / M
    assert ran.result.usage_line.startswith(name + " · ")


def test_fine_tuning_training_per_token():
    assert training_cost("gpt-4o-mini-2024-07-18", 2_000_000) == Decimal(6)  # $3 per million trained
    assert training_cost("gpt-4o-2024-08-06", 100_000) == Decimal("2.5")
    assert training_cost("my-local-llama", 1_000) is None


def test_the_usage_table_gains_the_columns_used(nb, session):
    nb.run("%chat -m gpt-4o-mini hi")
    assert not {"audio_seconds", "images", "characters"} & set(nb.run("%openai usage").result.columns)
    record(session, "tts-1", Usage(characters=300), "speak")
    record(session, "gpt-4o-transcribe", Usage.from_transcription(
        {"type": "tokens", "input_tokens": 10, "input_token_details": {"audio_tokens": 8}, "output_tokens": 3}))
    table = nb.run("%openai usage").result
    assert {"characters", "input_audio_tokens"} <= set(table.columns) and "images" not in table.columns
    assert "audio in" in table._repr_html_() and "chars" in table._repr_html_()
    frame = session.usage.to_pandas()
    assert list(frame["characters"]) == [0, 300, 0] and list(frame["input_audio_tokens"]) == [0, 0, 8]


def test_usage_lines_name_the_parts(session):
    from openai_magics.views.usage_line import usage_line

    row = record(session, "gpt-image-1", Usage.from_images(
        {"input_tokens": 60, "input_tokens_details": {"image_tokens": 50}, "output_tokens": 4_160}, 1,
        "1024x1024", "high"))
    line = usage_line(row)
    assert "60 in (50 image)" in line and "4,160 out (4,160 image)" in line and "1 image (high 1024x1024)" in line


# --- the budget ---------------------------------------------------------------------------------

def test_a_small_budget_caps_a_chat_answer_and_is_never_exceeded(nb, session, offline):
    nb.run("%openai budget 0.05")
    first = nb.run("%%chat -m gpt-4o\nWhat is a p-value? (offline: 4000 tokens)")
    assert first.error is None
    cap = offline.requests[-1].body["max_completion_tokens" if "max_completion_tokens" in
                                    offline.requests[-1].body else "max_tokens"]
    assert 4_000 < cap < 5_000  # what $0.05 buys at $10 per million out, after the prompt
    assert f"capped at {cap:,} out by the budget" in first.result.usage_line
    second = nb.run("%%chat -m gpt-4o\nWhat is a p-value? (offline: 4000 tokens)")
    assert second.error is None and second.result.record.budget_cap < 1_000
    assert "stopped at the token limit" in second.result.incomplete
    assert session.ledger.total_cost <= Decimal("0.05")
    offline.clear_log()
    third = nb.run("%%chat -m gpt-4o\nWhat is a p-value?")
    assert "Refused before sending" in third.stderr and "up to 100 out on gpt-4o" in third.stderr
    assert offline.requests == [] and session.ledger.total_cost <= Decimal("0.05")


def test_an_explicit_max_tokens_is_not_capped(nb, session, offline):
    nb.run("%openai budget 0.05")
    ran = nb.run("%chat -m gpt-4o --max-tokens 300 hi")
    assert ran.error is None and ran.result.record.budget_cap is None and "capped" not in ran.result.usage_line


def test_four_high_quality_images_over_the_budget_are_refused_with_the_figures(session):
    session.budget = Decimal("0.50")
    record(session, "gpt-4o-mini", Usage(input_tokens=1_000, output_tokens=1_000))
    worst = session.worst_case("gpt-image-1", Usage(input_tokens=20, images=4, image_size="1024x1024",
                                                    image_quality="high"))
    assert worst == (20 * Decimal(5)) / M + 4 * Decimal("0.167")
    with pytest.raises(UsageError) as refused:
        with session.reserve(worst, "4 high 1024x1024 images on gpt-image-1", advice="Ask for fewer images"):
            pytest.fail("sent anyway")
    message = str(refused.value)
    assert message.startswith("Refused before sending: worst case $0.67 (4 high 1024x1024 images on gpt-image-1)")
    assert "over the budget of $0.50 ($0.00075 spent)" in message and "Ask for fewer images" in message
    assert session.budget_left == Decimal("0.50") - Decimal("0.00075")  # nothing left held


def test_worst_cases_in_flight_are_held_across_threads(session):
    session.budget = Decimal("0.30")
    one_image = session.worst_case("gpt-image-1", Usage(images=1, image_quality="high", image_size="1536x1024"))
    holding, release, refused = threading.Event(), threading.Event(), []

    def first():
        with session.reserve(one_image, "an image"):
            holding.set()
            release.wait(5)

    worker = threading.Thread(target=first)
    worker.start()
    holding.wait(5)
    try:
        with pytest.raises(UsageError, match=r"\$0\.25 held by requests in flight"):
            with session.reserve(one_image, "another image"):
                refused.append(False)
    finally:
        release.set()
        worker.join()
    assert refused == [] and session.budget_left == Decimal("0.30")
    with session.reserve(one_image, "an image, now that the first is done"):
        assert session.budget_left == Decimal("0.05")


def test_audio_is_bounded_by_duration_or_characters(session):
    session.budget = Decimal("0.01")
    with session.reserve(session.worst_case("whisper-1", Usage(audio_seconds=90)), "90 s of audio on whisper-1"):
        assert session.budget_left == Decimal("0.001")
    with pytest.raises(UsageError, match=r"worst case \$0\.015 \(1,000 characters on tts-1\)"):
        with session.reserve(session.worst_case("tts-1", Usage(characters=1_000)), "1,000 characters on tts-1"):
            pass


def test_a_price_that_cannot_be_bounded_is_refused_under_a_budget(session):
    session.budget = Decimal("1")
    with pytest.raises(UsageError, match="price of my-image-model is unknown"):
        with session.reserve(session.worst_case("my-image-model", Usage(images=1)), "1 image", model="my-image-model"):
            pass


def test_units_genai_prices_lacks_come_from_the_dated_table_and_the_rest_from_genai_prices():
    from genai_prices import Usage as PricedUsage, calc_price

    from openai_magics.metering.pricing import token_prices

    minute_and_chars = Usage(audio_seconds=60, characters=1_000)  # a transcript's characters do not make whisper unknown
    whisper, tts = (calc_price(PricedUsage(**units), model, provider_id="openai").total_price for model, units in (
        ("whisper-1", {"audio_seconds": 60, "input_audio_seconds": 60}), ("tts-1", {"input_characters": 1_000})))
    assert [token_prices(m).cost(minute_and_chars) for m in ("whisper-1", "tts-1", "gpt-4o-transcribe")] == [
        whisper, tts, Decimal("0.006")] == [Decimal("0.006"), Decimal("0.015"), Decimal("0.006")]
