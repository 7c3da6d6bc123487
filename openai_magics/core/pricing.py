"""What a call cost: token prices from genai-prices, the rest from data/prices_extra.json.

A price we cannot find is None ("unknown"), never a confident $0.
"""
from __future__ import annotations

from openai_magics.core.data import load

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

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
    from genai_prices import data_snapshot  # small; its price data is imported on first lookup

    custom = getattr(data_snapshot, "_custom_snapshot", None) is not None  # prices updated at run time
    memo = None if custom else PriceMemo.for_installed_prices()
    if memo is not None and model in memo.prices:
        return memo.prices[model]
    prices = _look_up(model)
    if memo is not None:
        memo.remember(model, prices)
    return prices


def _look_up(model: str) -> TokenPrices | None:
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
        path = Path(base) / "openai-magics" / f"prices-{stamp.st_size}-{int(stamp.st_mtime)}.json"
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            saved = {}
        return cls(path, {model: _prices_from(entry) for model, entry in saved.items()})

    def remember(self, model: str, prices: "TokenPrices | None") -> None:
        import os
        import tempfile

        self.prices[model] = prices
        entries = {m: None if p is None else [p.model, str(p.input), str(p.cached_input), str(p.output)]
                   for m, p in self.prices.items()}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False, suffix=".tmp") as f:
                json.dump(entries, f)
            os.replace(f.name, self.path)  # whole or not at all, whichever kernel writes last
        except OSError:
            pass  # a read-only home: prices are looked up again next time, nothing else changes


def _prices_from(entry) -> "TokenPrices | None":
    if entry is None:
        return None
    model, input_, cached, output = entry
    return TokenPrices(model, Decimal(input_), Decimal(cached), Decimal(output))


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
