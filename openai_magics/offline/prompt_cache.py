"""OpenAI's prompt caching, as documented: a prompt of 1,024 tokens or more has its prefix cached in steps of
128 tokens; a later prompt that begins with a cached prefix (same model, same `prompt_cache_key`) reports the
longest one as cached tokens. A prefix lasts a few minutes after its last use (`in_memory`), or a day with
`prompt_cache_retention: 24h`.

Prefixes are kept as hashes at each 128-token boundary, so a prompt is matched in one pass whatever the number
of prompts seen before it.
"""
from __future__ import annotations

import hashlib
import time
from array import array

from openai_magics.facts.models import base_name
from openai_magics.offline import tokens

CACHE_MIN_TOKENS, CACHE_STEP = 1024, 128
LIFETIMES = {"in_memory": 5 * 60.0, "24h": 24 * 3600.0}  # seconds a prefix lasts after its last use


def prompt_ids(messages: list[dict], model: str) -> list[int]:
    """The prompt as the model reads it, message after message (role, then text), as token ids."""
    text = "".join(f"<|{m.get('role', '')}|>{tokens.message_text(m)}" for m in messages)
    enc = tokens.get_encoding(model)
    if enc is None:
        return [hash(piece) & 0xFFFFFFFF for piece in tokens.tokenize(text, model)]
    return enc.encode(text, disallowed_special=())


class PromptCache:
    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._expires: dict[tuple, float] = {}  # (model, key, prefix hash) → when it is forgotten

    def cached_tokens(self, messages: list[dict], model: str, total_tokens: int, key: str | None = None,
                      retention: str | None = None) -> int:
        """The cached part of this prompt (0 below 1,024 tokens); its prefixes are cached from now on."""
        if total_tokens < CACHE_MIN_TOKENS:
            return 0
        ids = prompt_ids(messages, model)
        now, scope = self._clock(), (base_name(model), key or "")
        lifetime = LIFETIMES.get(retention or "in_memory", LIFETIMES["in_memory"])
        digest, cached, done = hashlib.sha256(), 0, 0
        for end in range(CACHE_STEP, len(ids) + 1, CACHE_STEP):
            digest.update(array("I", ids[done:end]).tobytes())
            done = end
            if end < CACHE_MIN_TOKENS:
                continue
            slot = (*scope, digest.hexdigest())
            if self._expires.get(slot, 0.0) > now:
                cached = end
            self._expires[slot] = now + lifetime
        return min(cached, total_tokens // CACHE_STEP * CACHE_STEP)

    def clear(self) -> None:
        self._expires.clear()
