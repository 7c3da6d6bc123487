"""What we watch and bound on the wire: retries per call, rate-limit headers, quota errors not worth retrying,
and how long a silent server is waited for.

The SDK does the retrying (with backoff, honouring Retry-After); httpx event hooks let us see it.
"""
from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass, field

# What a server says when it refuses the request itself: sending it again cannot succeed.
VALIDATION_MARKERS = ("validation error", "extra inputs are not permitted", "extra_forbidden", "not supported",
                      "unsupported", "unrecognized", "unknown parameter", "not implemented")
GENERATION_PATHS = ("/chat/completions", "/responses")


# What an OpenAI-compatible API may answer with; a 2xx page of anything else is a proxy or a wrong URL.
NOT_AN_API = ("text/html", "text/plain", "application/xml", "text/xml")


@dataclass
class Trace:
    statuses: list[int] = field(default_factory=list)
    retries: int = 0  # of the latest request: the SDK numbers each attempt in x-stainless-retry-count

    @property
    def answered(self) -> bool:
        """The latest response was a success: what goes wrong now is in reading its answer."""
        return bool(self.statuses) and 200 <= self.statuses[-1] < 300


@dataclass
class RateLimits:
    """The latest `x-ratelimit-*` headers the server sent."""

    limit_requests: int | None = None
    remaining_requests: int | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None


class HttpWatcher:
    def __init__(self) -> None:
        from openai_magics.core.limits import Limits

        self._local = threading.local()
        self.rate_limits = RateLimits()
        self.limits = Limits()  # per-model pacing: requests wait for room instead of meeting a 429

    def begin(self) -> Trace:
        """Start a fresh trace for the call this thread is about to make."""
        self._local.trace = Trace()
        return self._local.trace

    @property
    def trace(self) -> Trace | None:
        return getattr(self._local, "trace", None)

    def forget(self) -> None:
        """This thread has no call under way (a new cell starts: an old trace must not explain its errors)."""
        self._local.trace = None

    def on_request(self, request) -> None:
        trace = self.trace
        attempt = request.headers.get("x-stainless-retry-count", "0")
        if trace is not None and attempt.isdigit():
            trace.retries = int(attempt)
        self.limits.before(request)

    def on_response(self, response) -> None:
        trace = self.trace
        if trace is not None:
            trace.statuses.append(response.status_code)
        self._read_rate_limits(response.headers)
        self.limits.after(response)
        if response.status_code == 429 or response.status_code >= 500:
            response.read()
            if not retry_can_help(response.status_code, response.content):
                response.headers["x-should-retry"] = "false"  # the SDK obeys this header
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if 200 <= response.status_code < 300 and kind in NOT_AN_API:
            raise _not_an_api(response, kind)

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


def http_client(watcher: HttpWatcher, connect: float, answer: float):
    """The SDK's httpx client with our hooks, connect and answer timeouts, and a transport that does not
    retry a server that took the request and never answered (retrying would multiply the wait)."""
    import httpx2
    import openai
    from openai._constants import DEFAULT_CONNECTION_LIMITS

    transport = _SilenceIsFinal(httpx2.HTTPTransport(limits=DEFAULT_CONNECTION_LIMITS), answer)
    return openai.DefaultHttpxClient(
        transport=transport, timeout=httpx2.Timeout(answer, connect=connect),
        event_hooks={"request": [watcher.on_request], "response": [watcher.on_response]})


class NoAnswer(Exception):
    """Marker base: the server accepted the request and sent nothing back in time (see `_SilenceIsFinal`)."""


class _SilenceIsFinal:
    """Wraps the transport: a read timeout before the answer starts, or any timeout of a non-streamed
    generation, becomes the SDK's APITimeoutError, which the SDK passes through without retrying."""

    def __init__(self, inner, seconds: float):
        self.inner, self.seconds = inner, seconds

    def handle_request(self, request):
        import httpx2

        try:
            return self.inner.handle_request(request)
        except httpx2.ReadTimeout:
            waited = (request.extensions.get("timeout") or {}).get("read") or self.seconds
            raise _no_answer(request, waited) from None
        except httpx2.TimeoutException as exc:
            if is_generation(request):  # the server may still be writing the first answer: not sent again
                raise _openai().APITimeoutError(request=request) from exc
            raise

    def close(self) -> None:
        self.inner.close()

    def __enter__(self):
        self.inner.__enter__()
        return self

    def __exit__(self, *exc):
        self.inner.__exit__(*exc)


def _no_answer(request, seconds: float):
    error = _server_silent()(request=request)
    error.seconds = seconds
    return error


@functools.cache
def _server_silent() -> type:
    """The SDK's timeout error, marked as a silent server (made on first use: openai loads lazily)."""
    import openai

    return type("ServerSilent", (openai.APITimeoutError, NoAnswer), {})


def _not_an_api(response, kind: str):
    """A success that is a web page, not an API answer: the SDK's own validation error (it passes it through
    without retrying), with what the page says."""
    import openai

    response.read()
    response.close()
    return openai.APIResponseValidationError(
        response, None, message=f"a {kind} page instead of JSON: {page_summary(response.text)}")


def page_summary(text: str, limit: int = 120) -> str:
    """A web page's title, or the start of its text, on one line."""
    import re

    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.S | re.I)
    plain = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
    plain = " ".join(plain.split())
    return f"“{plain[:limit]}{'…' if len(plain) > limit else ''}”" if plain else "an empty page"


def _openai():
    import openai

    return openai
