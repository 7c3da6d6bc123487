"""What we watch on the wire: retries per call, rate-limit headers, and quota errors not worth retrying.

The SDK does the retrying (with backoff, honouring Retry-After); an httpx event hook lets us see it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class Trace:
    statuses: list[int] = field(default_factory=list)

    @property
    def retries(self) -> int:
        return max(0, len(self.statuses) - 1)


@dataclass
class RateLimits:
    """The latest `x-ratelimit-*` headers the server sent."""

    limit_requests: int | None = None
    remaining_requests: int | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None


class HttpWatcher:
    def __init__(self) -> None:
        self._local = threading.local()
        self.rate_limits = RateLimits()

    def begin(self) -> Trace:
        """Start a fresh trace for the call this thread is about to make."""
        self._local.trace = Trace()
        return self._local.trace

    @property
    def trace(self) -> Trace | None:
        return getattr(self._local, "trace", None)

    def on_response(self, response) -> None:
        trace = self.trace
        if trace is not None:
            trace.statuses.append(response.status_code)
        self._read_rate_limits(response.headers)
        if response.status_code == 429:
            response.read()
            if b"insufficient_quota" in response.content:
                # Retrying cannot fix an empty account; the SDK obeys this header.
                response.headers["x-should-retry"] = "false"

    def _read_rate_limits(self, headers) -> None:
        for name in ("limit_requests", "remaining_requests", "limit_tokens", "remaining_tokens"):
            value = headers.get("x-ratelimit-" + name.replace("_", "-"))
            if value is not None and value.isdigit():
                setattr(self.rate_limits, name, int(value))
