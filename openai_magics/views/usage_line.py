"""The one compact line shown after every call (SPEC §2)."""
from __future__ import annotations

from openai_magics.core.ledger import UsageRecord


def usage_line(record: UsageRecord) -> str:
    u, approx = record.usage, "≈" if record.estimated else ""
    parts = [record.model]
    if u.input_tokens:
        cached = f" ({u.cached_tokens:,} cached)" if u.cached_tokens else ""
        parts.append(f"{approx}{u.input_tokens:,} in{cached}")
    if u.output_tokens:
        reasoning = f" ({u.reasoning_tokens:,} reasoning)" if u.reasoning_tokens else ""
        parts.append(f"{approx}{u.output_tokens:,} out{reasoning}")
    if u.images:
        parts.append(f"{u.images} image{'s' * (u.images != 1)}")
    if u.audio_seconds:
        parts.append(f"{u.audio_seconds:,.1f} s audio")
    if u.characters:
        parts.append(f"{u.characters:,} chars")
    parts.append(record.cost_text)
    if record.cache_hit:
        parts.append("cached")
    else:
        parts.append(f"{record.latency:.1f} s")
        if u.output_tokens and record.latency > 0:
            parts.append(f"{u.output_tokens / record.latency:,.0f} tok/s")
    if record.interrupted:
        parts.append("interrupted")
    return " · ".join(parts)
