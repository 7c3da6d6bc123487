"""Run inside the kernel at the end of `openai-magics run`: the session's totals in one line."""
from __future__ import annotations


def totals_line(records) -> str:
    from decimal import Decimal

    from openai_magics.metering.pricing import format_usd

    paid = [r for r in records if not r.cache_hit]
    usd = sum((r.cost for r in paid if r.cost is not None), Decimal(0))
    calls, paid_calls = sum(r.calls for r in records), sum(r.calls for r in paid)
    text = (f"Total: {_count(calls, 'call')} · {sum(r.usage.input_tokens for r in records):,} in · "
            f"{sum(r.usage.output_tokens for r in records):,} out · "
            f"{format_usd(usd, approx=any(r.estimated for r in paid))} · "
            f"{_count(calls - paid_calls, 'cache hit')}")
    unknown = sum(r.calls for r in paid if r.cost is None)
    return text + (f" · {unknown} at unknown prices" if unknown else "")


def print_totals() -> None:
    from openai_magics.core.session import session

    print(totals_line(session().ledger.records))


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'s' * (n != 1)}"
