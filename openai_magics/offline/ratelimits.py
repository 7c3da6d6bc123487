"""Rate limits as OpenAI reports them: `x-ratelimit-*` headers on every answer, and 429s when enforced.

Two token buckets, one for requests and one for tokens, refill continuously. By default they are so large
that nothing is ever refused and the headers merely count; `enforce(...)` makes them small.
A request's tokens are estimated as OpenAI does before it knows the answer: the body's length / 4 plus
the output limit asked for.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

DEFAULT_REQUESTS_PER_MINUTE = 30_000
DEFAULT_TOKENS_PER_MINUTE = 150_000_000
OUTPUT_LIMITS = ("max_completion_tokens", "max_tokens", "max_output_tokens")


@dataclass
class LimitBucket:
    capacity: float
    per_second: float
    level: float
    at: float

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.at) * self.per_second)
        self.at = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` is available (0 when it is)."""
        return max(0.0, (min(amount, self.capacity) - self.level) / self.per_second)

    def until_full(self) -> float:
        return (self.capacity - self.level) / self.per_second


@dataclass(frozen=True)
class Admission:
    headers: dict
    retry_after: float | None = None   # set when the request is refused


class RateLimiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def enforce(self, requests: float | None = None, tokens: float | None = None, *,
                requests_per: float = 1.0, tokens_per: float = 60.0) -> None:
        """At most `requests` requests every `requests_per` seconds and `tokens` tokens every `tokens_per`
        seconds (buckets that refill continuously); a limit not given stays generous."""
        now = time.monotonic()
        with self._lock:
            self.enforced = True
            if requests is not None:
                self._requests = LimitBucket(requests, requests / requests_per, requests, now)
            if tokens is not None:
                self._tokens = LimitBucket(tokens, tokens / tokens_per, tokens, now)

    def reset(self) -> None:
        """Generous limits that only count, as a high usage tier would report them."""
        now = time.monotonic()
        with self._lock:
            self.enforced = False
            self._requests = LimitBucket(DEFAULT_REQUESTS_PER_MINUTE, DEFAULT_REQUESTS_PER_MINUTE / 60,
                                    DEFAULT_REQUESTS_PER_MINUTE, now)
            self._tokens = LimitBucket(DEFAULT_TOKENS_PER_MINUTE, DEFAULT_TOKENS_PER_MINUTE / 60,
                                  DEFAULT_TOKENS_PER_MINUTE, now)

    def take(self, tokens: int) -> Admission:
        """Count one request of `tokens`; refused (with how long to wait) when enforced and over a limit."""
        with self._lock:
            now = time.monotonic()
            self._requests.refill(now)
            self._tokens.refill(now)
            wait = max(self._requests.wait_for(1), self._tokens.wait_for(tokens))
            if wait > 0 and self.enforced:
                return Admission(self._headers(), retry_after=wait)
            self._requests.level = max(0.0, self._requests.level - 1)
            self._tokens.level = max(0.0, self._tokens.level - tokens)
            return Admission(self._headers())

    def peek(self) -> dict:
        with self._lock:
            now = time.monotonic()
            self._requests.refill(now)
            self._tokens.refill(now)
            return self._headers()

    def _headers(self) -> dict:
        r, t = self._requests, self._tokens
        return {
            "x-ratelimit-limit-requests": str(int(r.capacity)),
            "x-ratelimit-limit-tokens": str(int(t.capacity)),
            "x-ratelimit-remaining-requests": str(int(r.level)),
            "x-ratelimit-remaining-tokens": str(int(t.level)),
            "x-ratelimit-reset-requests": duration(r.until_full()),
            "x-ratelimit-reset-tokens": duration(t.until_full()),
        }


def estimate_tokens(raw_body: bytes, body: dict) -> int:
    """What the request may consume: its prompt by size, plus the output limit it asks for."""
    asked = next((body[k] for k in OUTPUT_LIMITS if isinstance(body.get(k), int)), 0)
    return math.ceil(len(raw_body) / 4) + asked


def duration(seconds: float) -> str:
    """OpenAI's format for the reset headers: `20ms`, `1s`, `6m0s`, `1h2m3s`."""
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    seconds = math.ceil(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"
