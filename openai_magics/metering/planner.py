"""The cost planner: what a job of many requests will cost before anything is sent, now and with each cost
lever (the flex tier, the Batch API, a cached prompt prefix), from genai-prices' prices.

Each request is priced on its own (a long prompt may reach a dearer price tier; a sum of prompts never does),
once per distinct size. The worst case bounds every answer at its most output tokens; the expected case takes
the answers' usual length.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from openai_magics.metering.usage import Usage

CACHE_MIN_TOKENS, CACHE_STEP = 1024, 128  # OpenAI caches prefixes from 1,024 tokens, in steps of 128
NOW, FLEX, BATCH, CACHED, FLEX_CACHED = ("now", "flex tier", "Batch API", "prefix cached", "flex + prefix cached")


@dataclass(frozen=True)
class PlanLine:
    """One way of running the job: its tokens and its expected and worst-case USD (None: unknown)."""

    how: str
    input_tokens: int
    cached_tokens: int
    expected_output: int
    worst_output: int
    expected: Decimal | None
    worst: Decimal | None


@dataclass
class CostPlan:
    model: str
    requests: int
    lines: list[PlanLine]
    exact: bool = True                 # the prompts' tokens were counted with the model's own encoding
    notes: list[str] = field(default_factory=list)

    def line(self, how: str) -> PlanLine:
        return next(line for line in self.lines if line.how == how)

    @property
    def now(self) -> PlanLine:
        return self.line(NOW)


def cacheable(prefix_tokens: int) -> int:
    """The part of a shared prefix OpenAI's prompt cache can hold: 0 below 1,024 tokens, else whole steps of 128."""
    return 0 if prefix_tokens < CACHE_MIN_TOKENS else prefix_tokens // CACHE_STEP * CACHE_STEP


def plan_rows(prices, model: str, input_tokens: list[int], *, max_output: int, expected_output: int,
              shared_prefix: int = 0, exact: bool = True, levers=(NOW, FLEX, BATCH, CACHED, FLEX_CACHED)) -> CostPlan:
    """The plan of asking `model` once per entry of `input_tokens` (each request's prompt tokens), each answer
    `expected_output` tokens long and at most `max_output`; `shared_prefix`: the tokens every prompt begins with
    (cached from the second request on). `prices`: metering.pricing.Prices, or None when unknown."""
    cached = cacheable(shared_prefix)
    expected_output = min(expected_output, max_output)
    flex = prices is not None and prices.tier_listed("flex")
    lines, notes = [], []
    if not flex and FLEX in levers:
        notes.append(f"no flex tier: genai-prices lists no flex price for {model} (OpenAI offers flex for some "
                     "models only)")
    if not cached and len(input_tokens) > 1 and CACHED in levers:
        notes.append(f"no prefix to cache: the prompts share {shared_prefix:,} tokens (caching starts at "
                     f"{CACHE_MIN_TOKENS:,})")
    for how in levers:
        if how in (CACHED, FLEX_CACHED) and not cached or how in (FLEX, FLEX_CACHED) and not flex:
            continue
        tier = "flex" if how in (FLEX, FLEX_CACHED) else ""
        caching = cached if how in (CACHED, FLEX_CACHED) else 0
        sizes = _sizes(input_tokens, caching)
        lines.append(PlanLine(
            how, sum(input_tokens), sum(c * n for (_, c), n in sizes.items()), expected_output * len(input_tokens),
            max_output * len(input_tokens),
            _cost(prices, sizes, expected_output, tier, how == BATCH), _cost(prices, sizes, max_output, tier, how == BATCH)))
    return CostPlan(model, len(input_tokens), lines, exact, notes)


def _sizes(input_tokens: list[int], cached: int) -> Counter:
    """(prompt tokens, cached tokens) → how many requests: the first request fills the cache, the rest read it."""
    sizes = Counter()
    for index, tokens in enumerate(input_tokens):
        sizes[(tokens, min(cached, tokens) if index else 0)] += 1
    return sizes


def _cost(prices, sizes: Counter, output: int, tier: str, batch: bool) -> Decimal | None:
    if prices is None:
        return None
    total = Decimal(0)
    for (tokens, cached), n in sizes.items():
        cost = prices.cost(Usage(input_tokens=tokens, cached_tokens=cached, output_tokens=output, service_tier=tier),
                           batch=batch)
        if cost is None:
            return None
        total += cost * n
    return total
