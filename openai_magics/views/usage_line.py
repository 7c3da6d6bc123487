"""The one compact line shown after every call."""
from __future__ import annotations

from openai_magics.metering.ledger import UsageRecord

MIN_GENERATION_SECONDS = 0.05  # a rate over a shorter stream says more about the clock than the model


def timing(seconds: float, first_token: float | None, tokens: int) -> list[str]:
    """`0.4 s to first token · 2.1 s · 63 tok/s`: the speed counts from the first token, when there was one."""
    parts = [f"{first_token:.1f} s to first token"] if first_token is not None else []
    parts.append(f"{seconds:.1f} s")
    generating = seconds - (first_token or 0)
    if tokens > 1 and generating >= MIN_GENERATION_SECONDS:
        parts.append(f"{tokens / generating:,.0f} tok/s")
    return parts


def _parts(**counts: int) -> str:
    """` (1,024 cached, 300 audio)`: the parts of a token count worth knowing, or nothing."""
    shown = [f"{n:,} {name}" for name, n in counts.items() if n]
    return f" ({', '.join(shown)})" if shown else ""


SHOWN_TIERS = ("flex", "priority", "scale")  # a tier other than the default, priced as such, said so


def usage_line(record: UsageRecord) -> str:
    u, approx = record.usage, "≈" if record.estimated else ""
    parts = [record.model]
    if u.input_tokens:
        parts.append(f"{approx}{u.input_tokens:,} in" + _parts(cached=u.cached_tokens, audio=u.input_audio_tokens,
                                                               image=u.input_image_tokens))
    if u.output_tokens:
        parts.append(f"{approx}{u.output_tokens:,} out" + _parts(reasoning=u.reasoning_tokens,
                                                                 audio=u.output_audio_tokens,
                                                                 image=u.output_image_tokens))
    if u.images:
        kind = " ".join(k for k in (u.image_quality, u.image_size) if k)
        parts.append(f"{u.images} image{'s' * (u.images != 1)}" + (f" ({kind})" if kind else ""))
    if u.audio_seconds:
        parts.append(f"{u.audio_seconds:,.1f} s audio")
    if u.characters:
        parts.append(f"{u.characters:,} chars")
    if u.video_seconds:
        parts.append(f"{u.video_seconds:g} s video" + (f" ({u.video_size})" if u.video_size else ""))
    for count, unit in ((u.web_searches, "web search"), (u.file_searches, "file search"),
                        (u.containers, "container")):
        if count:
            parts.append(f"{count} {unit}{'es' if unit.endswith('search') and count != 1 else 's' * (count != 1)}")
    if u.stored_bytes:
        parts.append(f"{u.stored_bytes:,} bytes stored, a day")
    parts.append(record.cost_text)
    if u.service_tier in SHOWN_TIERS:
        parts.append(f"{u.service_tier} tier")
    if record.cache_hit:
        parts.append("cached")
    else:
        parts += timing(record.latency, record.first_token, u.output_tokens - u.output_image_tokens)  # text only
    if record.budget_cap is not None:
        parts.append(f"capped at {record.budget_cap:,} out by the budget")
    if record.interrupted:
        parts.append("interrupted")
    return " · ".join(parts)
