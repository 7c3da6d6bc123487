"""What a call cost: prices from genai-prices where it has them, the rest from data/prices_extra.json.

One `TokenPrices` holds everything a model is billed by: tokens (text, cached, audio and image rates),
images by quality and size, audio by the minute, text by the character, video by the second and size. A price we cannot find is None
("unknown"), never a confident $0.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, fields
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from openai_magics.core.data import load
from openai_magics.core.models import base_name
from openai_magics.core.usage import Usage

MILLION = Decimal(1_000_000)
SECONDS_PER_MINUTE = MINUTES_PER_HOUR = Decimal(60)
STALE_MEMO_SECONDS = 30 * 24 * 3600  # a remembered-prices file no kernel wrote to in 30 days is removed


@dataclass(frozen=True)
class TokenPrices:
    """USD per million tokens, and per image, minute, character or second of video for models billed that way.

    A rate left None for audio or image tokens means they are billed as text tokens; `input`/`output`
    None means the model is not billed by tokens at all (whisper-1, tts-1, dall-e-3)."""

    model: str
    input: Decimal | None
    cached_input: Decimal | None
    output: Decimal | None
    input_audio: Decimal | None = None
    output_audio: Decimal | None = None
    input_image: Decimal | None = None
    output_image: Decimal | None = None
    per_image: dict = field(default_factory=dict)      # {quality: {size: USD}}
    per_minute: Decimal | None = None                  # audio, USD per minute
    per_million_characters: Decimal | None = None
    per_second_video: dict = field(default_factory=dict)  # {size: USD per second}
    training: Decimal | None = None                    # fine-tuning, USD per million tokens trained

    @property
    def bills_tokens(self) -> bool:
        return self.input is not None or self.output is not None

    def cost(self, usage: Usage) -> Decimal | None:
        """The bill for this usage; None when it holds something these prices cannot price.

        Units (images, audio seconds, characters, video seconds) are billed when the call reported no output tokens or the
        model is not billed by tokens: a GPT image model's images are in its output tokens, a chat call's
        images in its input tokens. A unit the model is not billed by is only counted (a transcript's
        characters beside whisper-1's minutes); a call with nothing priced is unknown."""
        total, priced = Decimal(0), False
        if usage.tokens:
            if not self.bills_tokens:
                return None
            total, priced = self._tokens(usage), True
        if self.bills_tokens and usage.output_tokens:
            return total
        for count, unit in ((usage.images, self.image_price(usage.image_quality, usage.image_size)),
                            (usage.audio_seconds, self.per_minute and self.per_minute / SECONDS_PER_MINUTE),
                            (usage.characters, self.per_million_characters and self.per_million_characters / MILLION),
                            (usage.video_seconds, self.video_second_price(usage.video_size))):
            if count and unit is not None:
                total, priced = total + Decimal(str(count)) * unit, True
        unpriced = any((usage.images, usage.audio_seconds, usage.characters, usage.video_seconds)) and not priced
        return None if unpriced else total

    def _tokens(self, usage: Usage) -> Decimal:
        rate = lambda specific, general: general if specific is None else specific  # noqa: E731
        text_in = usage.input_tokens - usage.input_audio_tokens - usage.input_image_tokens
        text_out = usage.output_tokens - usage.output_audio_tokens - usage.output_image_tokens
        cached = min(usage.cached_tokens, text_in)
        parts = [
            (text_in - cached, self.input), (cached, self.cached_input),
            (usage.input_audio_tokens, rate(self.input_audio, self.input)),
            (usage.input_image_tokens, rate(self.input_image, self.input)),
            (text_out, self.output),
            (usage.output_audio_tokens, rate(self.output_audio, self.output)),
            (usage.output_image_tokens, rate(self.output_image, self.output)),
        ]
        return sum((Decimal(n) * (r or 0) for n, r in parts if n), Decimal(0)) / MILLION

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

    def describe(self) -> str:
        """The prices as one line, in the units the model is billed by."""
        parts = []
        if self.bills_tokens:
            parts.append(f"per million tokens: input ${self.input}, cached input ${self.cached_input}, "
                         f"output ${self.output}")
            for name in ("input_audio", "output_audio", "input_image", "output_image"):
                if getattr(self, name) is not None:
                    parts.append(f"{name.replace('_', ' ')} ${getattr(self, name)}")
        if self.per_image:
            parts.append("per image: " + ", ".join(f"{q} {s} ${p}" for q, sizes in self.per_image.items()
                                                    for s, p in sizes.items()))
        if self.per_minute is not None:
            parts.append(f"audio ${self.per_minute} per minute")
        if self.per_million_characters is not None:
            parts.append(f"${self.per_million_characters} per million characters")
        if self.per_second_video:
            parts.append("video per second: " + ", ".join(f"{s} ${p}" for s, p in self.per_second_video.items()))
        return "; ".join(parts) or "no prices"


@lru_cache(maxsize=1)
def extra_prices() -> dict:
    return load("prices_extra.json")


@lru_cache(maxsize=256)
def token_prices(model: str) -> TokenPrices | None:
    """Everything `model` is billed by (dated snapshots resolve to their base; fine-tuned `ft:` models to
    their fine-tuned rates), or None when nothing is known."""
    if model.startswith("ft:"):
        return fine_tuned_prices(model)
    if model.startswith(tuple(extra_prices().get("free_model_prefixes", ()))):
        return TokenPrices(model=model, input=Decimal(0), cached_input=Decimal(0), output=Decimal(0))
    found = _remembered_look_up(model)
    extra = _extra_units(model)
    if found is None and not any(extra.values()):
        return None
    if found is None:
        found = TokenPrices(model=base_name(model), input=None, cached_input=None, output=None)
    gaps = {name: value for name, value in extra.items() if value and not getattr(found, name)}
    return TokenPrices(**{**found.__dict__, **gaps})


def _remembered_look_up(model: str) -> TokenPrices | None:
    # Prices updated at run time (genai-prices' own update) are read afresh. Whoever updated them imported
    # genai-prices first; otherwise a remembered price spares the import itself (a tenth of a second).
    snapshot = sys.modules.get("genai_prices.data_snapshot")
    custom = getattr(snapshot, "_custom_snapshot", None) is not None
    memo = None if custom else PriceMemo.for_installed_prices()
    if memo is not None and model in memo.prices:
        return memo.prices[model]
    prices = _look_up(model)
    if memo is not None:
        memo.remember(model, prices)
    return prices


def _look_up(model: str) -> TokenPrices | None:
    """What genai-prices has for `model` (or its undated name), in the units it bills by."""
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    for ref in dict.fromkeys([model, base_name(model)]):
        try:
            provider, found = snapshot.find_provider_model(ref, None, "openai", None)
        except LookupError:
            continue
        price = found.get_prices(None) if hasattr(found, "get_prices") else found.prices
        read = lambda name: _mtok(getattr(price, name, None))  # noqa: E731
        hours = read("input_audio_hours") if read("input_audio_hours") is not None else read("audio_hours")
        tokens = read("input_mtok") is not None or read("output_mtok") is not None
        return TokenPrices(
            model=found.id,
            input=read("input_mtok") if tokens else None,
            cached_input=(read("cache_read_mtok") if read("cache_read_mtok") is not None else read("input_mtok"))
            if tokens else None,
            output=read("output_mtok") if tokens else None,
            input_audio=read("input_audio_mtok"), output_audio=read("output_audio_mtok"),
            input_image=read("input_image_mtok"), output_image=read("output_image_mtok"),
            per_minute=hours / MINUTES_PER_HOUR if hours is not None else None,
            per_million_characters=read("input_mchars"),
        )
    return None


@dataclass
class PriceMemo:
    """Prices already looked up in the installed genai-prices, kept in a small file of the user's cache
    folder: genai-prices builds every provider's price list on first use (a tenth of a second or more),
    which a kernel's first call would otherwise pay for the one model it asks. The file is named after the
    installed price data, so upgrading genai-prices starts a new one."""

    path: Path
    prices: dict

    @classmethod
    @lru_cache(maxsize=1)
    def for_installed_prices(cls) -> "PriceMemo | None":
        import importlib.util
        import os

        spec = importlib.util.find_spec("genai_prices")
        if spec is None or not spec.origin:
            return None
        data = Path(spec.origin).with_name("data.py")
        try:
            stamp = data.stat()
        except OSError:
            return None
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "openai-magics" / f"prices-v2-{stamp.st_size}-{int(stamp.st_mtime)}.json"
        try:
            saved = json.loads(path.read_text())
            prices = {model: _prices_from(entry) for model, entry in saved.items()}
        except (OSError, ValueError, TypeError, KeyError):
            prices = {}
        return cls(path, prices)

    def remember(self, model: str, prices: "TokenPrices | None") -> None:
        import os
        import tempfile

        self.prices[model] = prices
        entries = {m: _entry_of(p) for m, p in self.prices.items()}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False, suffix=".tmp") as f:
                json.dump(entries, f)
            os.replace(f.name, self.path)  # whole or not at all, whichever kernel writes last
        except OSError:
            return  # a read-only home: prices are looked up again next time, nothing else changes
        self._forget_stale()

    def _forget_stale(self) -> None:
        """Remove the memos of price data no kernel has written to for a while (earlier genai-prices installs);
        a recent one may belong to another environment still in use, so it stays."""
        import time

        for memo in self.path.parent.glob("prices-v2-*.json"):
            try:
                if memo != self.path and memo.stat().st_mtime < time.time() - STALE_MEMO_SECONDS:
                    memo.unlink()
            except OSError:
                pass  # another kernel removed it first


def _entry_of(prices: "TokenPrices | None") -> dict | None:
    if prices is None:
        return None
    return {f.name: str(getattr(prices, f.name)) for f in fields(prices)
            if f.name not in ("per_image", "per_second_video") and getattr(prices, f.name) is not None}


def _prices_from(entry: dict | None) -> "TokenPrices | None":
    if entry is None:
        return None
    rates = {name: Decimal(value) for name, value in entry.items() if name != "model"}
    return TokenPrices(model=entry["model"], **{"input": None, "cached_input": None, "output": None, **rates})


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


def fine_tuned_prices(model: str) -> TokenPrices | None:
    """A fine-tuned model's inference (and training) rates, from its base snapshot: `ft:gpt-4o-mini-2024-07-18:org::id`."""
    table = extra_prices()["fine_tuned"]["models"]
    base = model.split(":")[1] if model.startswith("ft:") else model
    entry = table.get(base) or next((v for k, v in table.items() if base_name(k) == base_name(base)), None)
    if entry is None:
        return None
    rate = lambda name: Decimal(str(entry[name])) if name in entry else None  # noqa: E731
    return TokenPrices(model=model, input=rate("input"), cached_input=rate("cached_input"), output=rate("output"),
                       training=rate("training"))


def training_cost(base_model: str, trained_tokens: int) -> Decimal | None:
    """What training a fine-tuned model on this many tokens (epochs included) costs; None when unknown."""
    prices = fine_tuned_prices(base_model)
    if prices is None or prices.training is None:
        return None
    return Decimal(trained_tokens) * prices.training / MILLION


def _mtok(value) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, Decimal):  # tiered prices: take the base tier
        value = getattr(value, "base", value)
    return Decimal(str(value))


def token_cost(model: str, usage: Usage, batch: bool = False) -> Decimal | None:
    """What OpenAI charges for this usage of `model`, or None when its price is unknown."""
    prices = token_prices(model)
    cost = prices.cost(usage) if prices is not None else None
    return batch_cost(cost) if batch and cost is not None else cost


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
