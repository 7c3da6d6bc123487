"""What a call cost: token prices from genai-prices, the rest from data/prices_extra.json.

A price we cannot find is None ("unknown"), never a confident $0.
"""
from __future__ import annotations

from openai_magics.core.data import load

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from openai_magics.core.models import base_name
from openai_magics.core.usage import Usage


@dataclass(frozen=True)
class TokenPrices:
    """USD per million tokens."""

    model: str
    input: Decimal
    cached_input: Decimal
    output: Decimal

    def cost(self, usage: Usage) -> Decimal:
        uncached = usage.input_tokens - usage.cached_tokens
        total = uncached * self.input + usage.cached_tokens * self.cached_input + usage.output_tokens * self.output
        return total / Decimal(1_000_000)


@lru_cache(maxsize=1)
def extra_prices() -> dict:
    return load("prices_extra.json")


@lru_cache(maxsize=256)
def token_prices(model: str) -> TokenPrices | None:
    """Per-token prices for a model (dated snapshots resolve to their base), or None.

    Fine-tuned models (`ft:…`) are billed above their base model's rates: unknown until we carry them.
    """
    if model.startswith("ft:"):
        return None
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    for ref in dict.fromkeys([model, base_name(model)]):
        try:
            provider, found = snapshot.find_provider_model(ref, None, "openai", None)
        except LookupError:
            continue
        price = found.get_prices(None) if hasattr(found, "get_prices") else found.prices
        if getattr(price, "input_mtok", None) is None and getattr(price, "output_mtok", None) is None:
            return None
        return TokenPrices(
            model=found.id,
            input=_mtok(price.input_mtok),
            cached_input=_mtok(price.cache_read_mtok if price.cache_read_mtok is not None else price.input_mtok),
            output=_mtok(price.output_mtok),
        )
    return None


def _mtok(value) -> Decimal:
    if value is None:
        return Decimal(0)
    if not isinstance(value, Decimal):  # tiered prices: take the base tier
        value = getattr(value, "base", value)
    return Decimal(str(value))


def token_cost(model: str, usage: Usage, batch: bool = False) -> Decimal | None:
    """What OpenAI charges for this usage of `model`, or None when its price is unknown."""
    prices = token_prices(model)
    if prices is None:
        return None
    return batch_cost(prices.cost(usage)) if batch else prices.cost(usage)


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
