"""`%openai usage` on a long session: how long grouping takes and how big the output is, by ledger size.

Builds ledgers of 10,000 / 20,000 / 40,000 recorded calls (four models, one without a price), then times
`UsageTable(ledger, by=...)` (the grouping) and the whole display (grouping + HTML + text), best of 5, and
reports the bytes a notebook would receive and save. Run by hand: python benchmarks/usage.py
"""
from __future__ import annotations

import random
import time
from decimal import Decimal

from IPython.core.formatters import format_display_data

from openai_magics.metering.ledger import Ledger, UsageRecord
from openai_magics.metering.usage import Usage
from openai_magics.views.usage_table import UsageTable

MODELS = ["gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "text-embedding-3-small", "mystery-model"]


def ledger_of(n: int) -> Ledger:
    rng, ledger = random.Random(7), Ledger()
    for i in range(n):
        model = MODELS[i % len(MODELS)]
        cost = None if model == "mystery-model" else Decimal(rng.randint(1, 900)) / Decimal(1_000_000)
        ledger.add(UsageRecord(magic="chat", model=model, cell=i + 1, latency=0.5, cost=cost,
                               usage=Usage(input_tokens=rng.randint(5, 5000), output_tokens=100)))
    return ledger


def best_ms(action, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def main() -> None:
    print(f"{'calls':>7}  {'by':>5}  {'group ms':>8}  {'display ms':>10}  {'output bytes':>12}")
    for n in (10_000, 20_000, 40_000):
        ledger = ledger_of(n)
        for by in ("call", "model"):
            group = best_ms(lambda: UsageTable(ledger, by=by))
            shown = best_ms(lambda: format_display_data(UsageTable(ledger, by=by)))
            size = sum(len(v.encode()) for v in format_display_data(UsageTable(ledger, by=by))[0].values())
            print(f"{n:>7,}  {by:>5}  {group:8.1f}  {shown:10.1f}  {size:12,}")


if __name__ == "__main__":
    main()
