"""`--logprobs [N]`: each answer token's probability and its likeliest alternatives, read from either API's
answer (validated here: a server's odd numbers are left out, never shown as probabilities), shown as a
DataFrame; the first token's probability is an answer's `confidence`."""
from __future__ import annotations

import math


def from_chat(choice) -> list[dict]:
    """A Chat Completions choice's `logprobs.content`."""
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    return _read(content)


def from_responses(output) -> list[dict]:
    """The `logprobs` of a Responses answer's output_text parts."""
    return _read([entry for item in output or [] if getattr(item, "type", None) == "message"
                  for part in getattr(item, "content", None) or [] if getattr(part, "type", None) == "output_text"
                  for entry in getattr(part, "logprobs", None) or []])


def _read(entries) -> list[dict]:
    """[{token, logprob, top: [[token, logprob], …]}]: plain values the response cache can keep."""
    read = []
    for entry in entries or []:
        token, logprob = _get(entry, "token"), _get(entry, "logprob")
        if not isinstance(token, str) or not _is_logprob(logprob):
            continue
        top = [[_get(t, "token"), _get(t, "logprob")] for t in _get(entry, "top_logprobs") or []]
        read.append({"token": token, "logprob": float(logprob),
                     "top": [[t, float(lp)] for t, lp in top if isinstance(t, str) and _is_logprob(lp)]})
    return read


def _get(obj, name):
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _is_logprob(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value <= 0


def confidence(entries: list[dict]) -> float | None:
    """The probability of the answer's first token; None without logprobs."""
    return math.exp(entries[0]["logprob"]) if entries else None


def frame(entries: list[dict]):
    """The DataFrame: token, probability, logprob, and the alternatives (token → probability, the chosen token
    left out)."""
    import pandas as pd

    rows = [{"token": e["token"], "probability": math.exp(e["logprob"]), "logprob": e["logprob"],
             "alternatives": {t: math.exp(lp) for t, lp in e["top"] if t != e["token"]}} for e in entries]
    return pd.DataFrame(rows, columns=["token", "probability", "logprob", "alternatives"])
