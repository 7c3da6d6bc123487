"""What a call cost: genai-prices' own calculation for everything it prices, data/prices_extra.json for the rest.

Token prices (tiers, prices that changed on a date, service tiers, the Batch API, cached, audio and image tokens)
are genai-prices' `ModelPrice.calc_price` on the prices in force at the call's time; the dated table adds only
what genai-prices lacks: prices per image, per minute and per second of video, fine-tuned models it does not list, training, and the
Batch discount for models without batch prices. A price that cannot be found or computed is None ("unknown"),
with the reason, never a confident $0 and never an exception.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any

from openai_magics.facts.data import load
from openai_magics.facts.models import base_name
from openai_magics.metering.price_data import price_data
from openai_magics.metering.usage import Usage

MILLION = Decimal(1_000_000)
SECONDS_PER_MINUTE = Decimal(60)
BATCH = {"processing": "batch"}
TOKEN_LABELS = {"input_mtok": "input", "cache_read_mtok": "cached input", "output_mtok": "output"}
UNIT_SUFFIXES = {"_mtok": "per million tokens", "_kcount": "per thousand", "_hours": "per hour",
                 "_mchars": "per million characters", "_kpages": "per thousand pages", "_gpixels": "per billion pixels"}


@dataclass(frozen=True)
class Bill:
    cost: Decimal | None
    why_unknown: str | None = None  # set when cost is None


@dataclass(frozen=True)
class Prices:
    """Everything a model is billed by: its genai-prices entry (`listed`: prices by date, input tier, service
    tier and batch) or token prices of our own (`own`, a genai-prices ModelPrice: the user's, or a fine-tuned
    model's from the dated table), and the units genai-prices lacks: images by quality and size, audio by
    the minute, text by the character, video by the second and size."""

    model: str                                   # the name the prices are listed under
    listed: Any = None                           # genai_prices.types.ModelInfo
    own: Any = None                              # genai_prices.types.ModelPrice
    per_image: dict = field(default_factory=dict)  # {quality: {size: USD}}
    per_minute: Decimal | None = None
    per_million_characters: Decimal | None = None
    per_second_video: dict = field(default_factory=dict)  # {size: USD per second}
    training: Decimal | None = None              # fine-tuning, USD per million tokens trained

    def in_force(self, at: datetime | None = None, service_tier: str = "", batch: bool = False):
        """The genai-prices ModelPrice that applies at `at` (now by default) to this service tier, in a batch
        or not; None when genai-prices has no entry."""
        if self.own is not None:
            return self.own
        if self.listed is None:
            return None
        context = {"service_tier": service_tier} if service_tier else {}
        if batch and self.batch_listed(at):
            context.update(BATCH)
        return self.listed.get_prices(at or _now(), context or None)

    def batch_listed(self, at: datetime | None = None) -> bool:
        """genai-prices has this model's Batch API prices (else the dated table's discount applies)."""
        return self.own is None and self.listed is not None and any(
            variant.when == BATCH and (variant.constraint is None or variant.constraint.active(at or _now()))
            for variant in self.listed.price_variants or ())

    def tier_listed(self, service_tier: str, at: datetime | None = None) -> bool:
        """genai-prices has this model's prices on that service tier (flex, priority): OpenAI offers it."""
        return self.own is None and self.listed is not None and any(
            variant.when.get("service_tier") == service_tier
            and (variant.constraint is None or variant.constraint.active(at or _now()))
            for variant in self.listed.price_variants or ())

    def cost(self, usage: Usage, at: datetime | None = None, batch: bool = False) -> Decimal | None:
        return self.bill(usage, at, batch).cost

    def bill(self, usage: Usage, at: datetime | None = None, batch: bool = False) -> Bill:
        """The bill for this usage at `at` (the call's time); unknown, with the reason, when genai-prices and
        the dated table cannot price all of it."""
        try:
            bill = self._bill(usage, at, batch)
        except Exception as exc:  # genai-prices could not compute it: unknown, never a lost answer
            return Bill(None, f"genai-prices could not compute it ({type(exc).__name__}: {exc})")
        if batch and bill.cost is not None and not self.batch_listed(at):
            return Bill(batch_cost(bill.cost))
        return bill

    def _bill(self, usage: Usage, at: datetime | None, batch: bool) -> Bill:
        """Units (images, audio seconds, characters, video seconds) are billed when the call reported no output tokens or the
        model is not billed by tokens: a GPT image model's images are in its output tokens, a chat call's
        images in its input tokens. A unit the model is not billed by is only counted (a transcript's
        characters beside whisper-1's minutes); a call with nothing priced is unknown."""
        price = self.in_force(at, usage.service_tier, batch)
        counts: dict[str, int | float] = {}
        if usage.tokens:
            missing = [side for side, n in (("input", usage.input_tokens), ("output", usage.output_tokens))
                       if n and (price is None or getattr(price, f"{side}_mtok") is None)]
            if missing:
                return Bill(None, f"no {' or '.join(missing)} token price for {self.model}")
            counts.update(_token_counts(usage))
        extra, priced = Decimal(0), bool(counts)
        if not (usage.output_tokens and counts):
            seconds = _seconds_counts(price, usage.audio_seconds)
            if seconds:
                counts.update(seconds)
            elif usage.audio_seconds and self.per_minute is not None:
                extra += Decimal(str(usage.audio_seconds)) * self.per_minute / SECONDS_PER_MINUTE
            if usage.characters and price is not None and price.input_mchars is not None:
                counts["input_characters"] = usage.characters
            elif usage.characters and self.per_million_characters is not None:
                extra += Decimal(usage.characters) * self.per_million_characters / MILLION
            if usage.images and self.per_image:
                extra += usage.images * self.image_price(usage.image_quality, usage.image_size)
            if usage.video_seconds and self.per_second_video:
                extra += Decimal(str(usage.video_seconds)) * self.video_second_price(usage.video_size)
            priced = priced or len(counts) > 0 or extra > 0 or (usage.images and bool(self.per_image))
            if any((usage.images, usage.audio_seconds, usage.characters, usage.video_seconds)) and not priced:
                return Bill(None, f"no price for {self.model}'s images, audio, characters or video")
        tool_counts, tool_cost = _hosted_tools(usage, price)
        counts.update(tool_counts)
        extra += tool_cost
        if not counts:
            return Bill(extra)
        from genai_prices import Usage as PricedUsage

        return Bill(price.calc_price(PricedUsage(**counts))["total_price"] + extra)

    def output_rate(self, input_tokens: int, at: datetime | None = None) -> Decimal | None:
        """USD per output token for a prompt of this size (a long prompt may reach a dearer tier); None when
        output is not priced by the token."""
        base = self.cost(Usage(input_tokens=input_tokens), at)
        more = self.cost(Usage(input_tokens=input_tokens, output_tokens=1_000_000), at)
        if base is None or more is None or more <= base:
            return None
        return (more - base) / MILLION

    def image_price(self, quality: str = "", size: str = "") -> Decimal | None:
        """One image's price; an unknown or `auto` quality or size is bounded by the dearest."""
        qualities = [self.per_image[quality]] if quality in self.per_image else list(self.per_image.values())
        prices = [by_size[size] if size in by_size else max(by_size.values()) for by_size in qualities]
        return Decimal(str(max(prices))) if prices else None

    def video_second_price(self, size: str = "") -> Decimal | None:
        """One second of video at `size`; an unknown size is bounded by the dearest."""
        prices = self.per_second_video
        if not prices:
            return None
        return Decimal(str(prices[size] if size in prices else max(prices.values())))

    def describe(self, at: datetime | None = None) -> str:
        """The prices as genai-prices has them (tiers, earlier prices, service tiers, batch), then the dated
        table's, one part a line."""
        lines = []
        if self.own is not None or self.listed is not None:
            lines.append(f"in force {'now' if at is None else f'on {at:%Y-%m-%d}'}: "
                         + (_price_line(self.in_force(at)) or "no token prices"))
        if self.listed is not None:
            lines += _conditions(self.listed, at or _now())
        if self.per_image:
            lines.append("per image: " + ", ".join(f"{q} {s} ${p}" for q, sizes in self.per_image.items()
                                                    for s, p in sizes.items()))
        if self.per_minute is not None:
            lines.append(f"audio ${self.per_minute} per minute")
        if self.per_million_characters is not None:
            lines.append(f"${self.per_million_characters} per million characters")
        if self.per_second_video:
            lines.append("video per second: " + ", ".join(f"{s} ${p}" for s, p in self.per_second_video.items()))
        if self.training is not None:
            lines.append(f"training ${self.training} per million tokens trained")
        return "\n".join(lines) or "no prices"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _token_counts(usage: Usage) -> dict[str, int]:
    """Our usage in genai-prices' names. OpenAI reports cached prompt tokens without saying which were audio
    or images: they are counted as text."""
    counts = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
              "cache_read_tokens": usage.cached_tokens, "output_reasoning_tokens": usage.reasoning_tokens,
              "input_audio_tokens": usage.input_audio_tokens, "input_image_tokens": usage.input_image_tokens,
              "output_audio_tokens": usage.output_audio_tokens, "output_image_tokens": usage.output_image_tokens}
    if usage.cached_tokens:
        counts.update(cache_audio_read_tokens=0, cache_image_read_tokens=0)
    return {name: n for name, n in counts.items() if n or name.startswith("cache_")}


def _hosted_tools(usage: Usage, price) -> tuple[dict[str, int], Decimal]:
    """Hosted tools: search calls in genai-prices' names where it prices them for this model, else at the dated
    table's price per call; container sessions and vector storage (the first GB free) from the table."""
    table = extra_prices()["hosted_tools"]
    counts, extra = {}, Decimal(0)
    for calls, name, per_call in ((usage.web_searches, "web_searches", "web_search_per_call"),
                                  (usage.file_searches, "storage_searches", "file_search_per_call")):
        if calls and price is not None and getattr(price, f"{name}_kcount", None) is not None:
            counts[name] = calls
        elif calls:
            extra += calls * Decimal(str(table[per_call]))
    extra += usage.containers * Decimal(str(table["container_session"]))
    if usage.stored_bytes:
        billed_gb = Decimal(usage.stored_bytes) / Decimal(10 ** 9) - Decimal(str(table["storage_free_gb"]))
        extra += max(Decimal(0), billed_gb) * Decimal(str(table["storage_per_gb_day"]))
    return counts, extra


def _seconds_counts(price, seconds: float) -> dict[str, float]:
    """Audio seconds in genai-prices' names, when it prices them (whisper-1 by the hour)."""
    if not seconds or price is None or (price.audio_hours is None and price.input_audio_hours is None):
        return {}
    counts = {"audio_seconds": seconds}
    if price.input_audio_hours is not None:
        counts["input_audio_seconds"] = seconds
    return counts


def _price_line(price) -> str:
    """A genai-prices ModelPrice in words: `per million tokens: input $2.5 ($5 for every token once the
    prompt is over 272,000 tokens), …; $10 per thousand web searches`."""
    if price is None:
        return ""
    tokens, others = [], []
    for key, value in price.__dict__.items():
        if value is None or key.startswith("_"):
            continue
        suffix = next((s for s in UNIT_SUFFIXES if key.endswith(s)), None)
        name = TOKEN_LABELS.get(key) or key.removesuffix(suffix or "").replace("_", " ")
        amount = _amount(value)
        if suffix == "_mtok":
            tokens.append(f"{name} {amount}")
        else:
            others.append(f"{amount} {UNIT_SUFFIXES.get(suffix, '')} {name}".replace("  ", " "))
    return "; ".join(([f"per million tokens: {', '.join(tokens)}"] if tokens else []) + others)


def _amount(value) -> str:
    tiers = getattr(value, "tiers", None)
    if tiers is None:
        return f"${value}"
    above = ", ".join(f"${t.price} for every token once the prompt is over {t.start:,} tokens" for t in tiers)
    return f"${value.base} ({above})"


def _conditions(listed, at: datetime) -> list[str]:
    """genai-prices' dated prices and its service-tier and batch variants, as lines."""
    from genai_prices.types import ModelPrice

    lines = []
    if not isinstance(listed.prices, ModelPrice):
        starts = [_start(conditional.constraint) for conditional in listed.prices]
        for i, conditional in enumerate(listed.prices):
            later = next((start for start in starts[i + 1:] if start is not None), None)
            label = (f"from {starts[i]}" if starts[i] is not None else f"until {later}" if later is not None
                     else str(conditional.constraint or "otherwise"))
            lines.append(f"{label}: {_price_line(conditional.prices)}")
    for variant in listed.price_variants or ():
        shown = _price_line(variant.prices)
        if not shown:
            continue
        what = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in variant.when.items())
        start = _start(variant.constraint)
        lines.append(f"{what}{f' (from {start})' if start else ''}: {shown}")
    return lines


def _start(constraint):
    """When a genai-prices price starts to apply (a date, or a time of day), or None."""
    return getattr(constraint, "start_date", None) or getattr(constraint, "start_time", None)


@lru_cache(maxsize=1)
def extra_prices() -> dict:
    return load("prices_extra.json")


def token_prices(model: str) -> Prices | None:
    """Everything `model` is billed by (dated snapshots resolve to their base when genai-prices does not know
    them; fine-tuned `ft:` models to genai-prices' fine-tuned prices or the dated table's), or None when
    nothing is known. Prices genai-prices updates at run time (its `UpdatePrices`) apply from then on."""
    return _token_prices(model, id(price_data()))


@lru_cache(maxsize=512)
def _token_prices(model: str, snapshot: int) -> Prices | None:  # `snapshot`: which price data, so an update is read
    if model.startswith(tuple(extra_prices().get("free_model_prefixes", ()))):
        from genai_prices.types import ModelPrice

        return Prices(model=model, own=ModelPrice(input_mtok=Decimal(0), output_mtok=Decimal(0)))
    if model == extra_prices()["hosted_tools"]["storage_model"]:  # vector storage, billed by the GB-day
        return Prices(model=model)
    listed = listed_model(model)
    tuned = fine_tuned_prices(model) if model.startswith("ft:") else None
    if tuned is not None and (listed is None or not listed.id.startswith("ft:")):
        return tuned
    extra = _extra_units(model)
    if listed is None and not any(extra.values()):
        return None
    training = tuned.training if tuned is not None else None
    return Prices(model=listed.id if listed is not None else base_name(model), listed=listed, training=training,
                  **extra)


def listed_model(model: str):
    """genai-prices' OpenAI entry for `model` (or its undated name), or None."""
    snapshot = price_data()
    for ref in dict.fromkeys([model, base_name(model)]):
        try:
            return snapshot.find_provider_model(ref, None, "openai", None)[1]
        except LookupError:
            continue
    return None


def _extra_units(model: str) -> dict:
    """What the dated table adds: per-image and per-second video prices, and per-minute or per-character ones
    genai-prices lacks."""
    table, name = extra_prices(), base_name(model)
    minute = table["per_minute_audio"].get(model, table["per_minute_audio"].get(name))
    chars = table["per_million_characters"].get(model, table["per_million_characters"].get(name))
    return {"per_image": table["per_image"].get(model) or table["per_image"].get(name) or {},
            "per_minute": Decimal(str(minute)) if minute is not None else None,
            "per_million_characters": Decimal(str(chars)) if chars is not None else None,
            "per_second_video": table["per_second_video"]["models"].get(model)
            or table["per_second_video"]["models"].get(name) or {}}


def fine_tuned_prices(model: str) -> Prices | None:
    """A fine-tuned model's inference (and training) rates from the dated table, by its base snapshot:
    `ft:gpt-4o-mini-2024-07-18:org::id`."""
    from genai_prices.types import ModelPrice

    table = extra_prices()["fine_tuned"]["models"]
    base = model.split(":")[1] if model.startswith("ft:") else model
    entry = table.get(base) or next((v for k, v in table.items() if base_name(k) == base_name(base)), None)
    if entry is None:
        return None
    rate = lambda name: Decimal(str(entry[name])) if name in entry else None  # noqa: E731
    own = ModelPrice(input_mtok=rate("input"), cache_read_mtok=rate("cached_input"), output_mtok=rate("output"))
    return Prices(model=model, own=own if rate("input") is not None else None, training=rate("training"))


def user_prices(model: str, input_rate: Decimal, output_rate: Decimal) -> Prices:
    """Prices the user set (USD per million input and output tokens), priced by genai-prices' arithmetic."""
    from genai_prices.types import ModelPrice

    return Prices(model=model, own=ModelPrice(input_mtok=input_rate, output_mtok=output_rate))


def training_cost(base_model: str, trained_tokens: int) -> Decimal | None:
    """What training a fine-tuned model on this many tokens (epochs included) costs; None when unknown."""
    prices = fine_tuned_prices(base_model)
    if prices is None or prices.training is None:
        return None
    return Decimal(trained_tokens) * prices.training / MILLION


def batch_cost(cost: Decimal) -> Decimal:
    return cost * Decimal(str(extra_prices()["batch_discount"]))


def format_usd(amount: Decimal | float | None, approx: bool = False) -> str:
    """$0.00041, $0.012, $1.50; None is 'price unknown'."""
    if amount is None:
        return "price unknown"
    value = float(amount)
    mark = "≈" if approx else ""
    if value == 0:
        return f"{mark}$0"
    decimals = 2
    while value < 10 ** (1 - decimals) and decimals < 10:
        decimals += 1
    return f"{mark}${value:,.{decimals}f}"
