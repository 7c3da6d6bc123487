"""What we watch on the wire: retries per call, rate-limit headers, and quota errors not worth retrying.

The SDK does the retrying (with backoff, honouring Retry-After); an httpx event hook lets us see it.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

# What a server says when it refuses the request itself: sending it again cannot succeed.
VALIDATION_MARKERS = ("validation error", "extra inputs are not permitted", "extra_forbidden", "not supported",
                      "unsupported", "unrecognized", "unknown parameter", "not implemented")
GENERATION_PATHS = ("/chat/completions", "/responses")


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
        if response.status_code == 429 or response.status_code >= 500:
            response.read()
            if not retry_can_help(response.status_code, response.content):
                response.headers["x-should-retry"] = "false"  # the SDK obeys this header

    def _read_rate_limits(self, headers) -> None:
        for name in ("limit_requests", "remaining_requests", "limit_tokens", "remaining_tokens"):
            value = headers.get("x-ratelimit-" + name.replace("_", "-"))
            if value is not None and value.isdigit():
                setattr(self.rate_limits, name, int(value))


def retry_can_help(status: int, body: bytes) -> bool:
    """Whether sending the same request again can succeed: not for an empty account (429
    insufficient_quota), nor for a 5xx whose body is the server refusing the request (a validation error
    naming a parameter it does not support)."""
    if status == 429:
        return b"insufficient_quota" not in body
    if status >= 500:
        text = body.decode("utf-8", "replace").lower()
        return not any(marker in text for marker in VALIDATION_MARKERS)
    return True


def is_generation(request) -> bool:
    """A non-streamed chat or responses request: its answer arrives only once the model has written it all."""
    if request.method != "POST" or not request.url.path.rstrip("/").endswith(GENERATION_PATHS):
        return False
    try:
        return not json.loads(request.content or b"{}").get("stream")
    except (ValueError, AttributeError):
        return False


def generation_seconds(base: float, max_output_tokens: int) -> float:
    """A read timeout that leaves room to write the whole answer, at a slow local server's 10 tokens a second."""
    return base + max_output_tokens / 10


def no_regeneration(transport):
    """`transport`, except that a non-streamed generation that timed out is not sent again: the server may
    still be writing the first answer (the SDK re-sends timeouts, but passes an OpenAIError through)."""
    import httpx2
    import openai

    class NoRegeneration(httpx2.BaseTransport):
        def handle_request(self, request):
            try:
                return transport.handle_request(request)
            except httpx2.TimeoutException as exc:
                if is_generation(request):
                    raise openai.APITimeoutError(request=request) from exc
                raise

        def close(self) -> None:
            transport.close()

    return NoRegeneration()
