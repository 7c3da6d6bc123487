"""Deterministic logprobs for the offline server, shaped as both APIs send them: each answer token's log
probability and its likeliest alternatives. A prompt may set the first token's probability with
`(offline: confidence 0.42)`, so a notebook can show a doubtful answer; otherwise the probabilities come from a
hash of the prompt and the token, between 0.55 and 0.99.

The chosen token and its alternatives never add up to more than 1."""
from __future__ import annotations

import hashlib
import math
import re

CONFIDENCE_DIRECTIVE = re.compile(r"\(offline:\s*confidence\s+(0(?:\.\d+)?|1(?:\.0+)?)\)", re.I)
ALTERNATIVES = (" the", " a", ".", ",", " and", " of", " to", " is", " it", " that", " in", " for", " on", " with",
                " as", " this", " be", " or", " an", " not", " by")


def wanted(body: dict, api: str) -> int | None:
    """How many alternatives per token the request asked for; None when it asked for no logprobs."""
    if api == "chat":
        return (body.get("top_logprobs") or 0) if body.get("logprobs") else None
    asked = "message.output_text.logprobs" in (body.get("include") or []) or body.get("top_logprobs") is not None
    return (body.get("top_logprobs") or 0) if asked else None


def entries(prompt: str, tokens: list[str], top: int) -> list[dict]:
    """One entry per answer token: `token`, `logprob`, `bytes`, `top_logprobs` (the likeliest `top` tokens)."""
    directed = CONFIDENCE_DIRECTIVE.search(prompt)
    out = []
    for index, token in enumerate(tokens):
        chosen = float(directed.group(1)) if directed and index == 0 else _probability(prompt, index, token)
        chosen = min(max(chosen, 1e-6), 1.0)
        others = [t for t in ALTERNATIVES if t != token][:top]
        rest, shares = 1.0 - chosen, []
        for n in range(len(others)):  # the rest of the mass, halved from one alternative to the next
            shares.append(rest * 0.5 ** (n + 1))
        ranked = sorted([(token, chosen)] + list(zip(others, shares)), key=lambda pair: -pair[1])[:top]
        out.append({**_entry(token, chosen), "top_logprobs": [_entry(t, p) for t, p in ranked]})
    return out


def _probability(prompt: str, index: int, token: str) -> float:
    digest = hashlib.sha256(f"{prompt}\0{index}\0{token}".encode()).digest()
    return 0.55 + 0.44 * int.from_bytes(digest[:4], "big") / 2**32


def _entry(token: str, probability: float) -> dict:
    return {"token": token, "logprob": math.log(probability) if probability > 0 else -9999.0,
            "bytes": list(token.encode("utf-8"))}
