"""What a compatible endpoint serves: its `/models`, against the session's default chat and embed models."""
from __future__ import annotations

SHOWN = 8  # served model names listed at most


def served_check(s) -> str:
    """One line per default model the server does not list, naming what it serves; or that all are there."""
    try:
        with s.api_errors():
            served = sorted({m.id for m in s.client.models.list()})
    except Exception as exc:  # a server without /models, or unreachable: say so, the endpoint is still set
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"models:   could not list them ({s.redact(first)})"
    names = ", ".join(served[:SHOWN]) + (f" … ({len(served):,} in all)" if len(served) > SHOWN else "")
    missing = [(kind, s.config.models[kind]) for kind in ("chat", "embed") if s.config.models[kind] not in served]
    if not missing:
        return f"models:   serves {names}"
    lines = [f"⚠ the default {kind} model {name} is not served here (it serves {names or 'nothing'}): "
             f"`%openai model {'' if kind == 'chat' else kind + ' '}NAME` picks one." for kind, name in missing]
    return "\n".join(lines)
