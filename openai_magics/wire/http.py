"""What we watch and bound on the wire: retries per call, rate-limit headers, quota errors not worth retrying,
and how long a silent server is waited for.

The SDK does the retrying (with backoff, honouring Retry-After); httpx event hooks let us see it.
"""
from __future__ import annotations

import functools
import json
import os
import threading
from dataclasses import dataclass, field, replace

# What a server says when it refuses the request itself: sending it again cannot succeed.
VALIDATION_MARKERS = ("validation error", "extra inputs are not permitted", "extra_forbidden", "not supported",
                      "unsupported", "unrecognized", "unknown parameter", "not implemented")
GENERATION_PATHS = ("/completions", "/responses", "/images/generations", "/images/edits", "/images/variations",
                    "/audio/speech", "/audio/transcriptions", "/audio/translations")


# What an OpenAI-compatible API may answer with; a 2xx page of anything else is a proxy or a wrong URL.
NOT_AN_API = ("text/html", "text/plain", "application/xml", "text/xml")


@dataclass
class Trace:
    statuses: list[int] = field(default_factory=list)
    retries: int = 0  # of the latest request: the SDK numbers each attempt in x-stainless-retry-count
    error_event: dict | None = None  # a stream's event that carried an error (the SDK keeps only the error)

    @property
    def answered(self) -> bool:
        """The latest response was a success: what goes wrong now is in reading its answer."""
        return bool(self.statuses) and 200 <= self.statuses[-1] < 300


class HttpWatcher:
    def __init__(self) -> None:
        from openai_magics.wire.limits import Limits

        self._local = threading.local()
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
        if response.status_code == 429 or response.status_code >= 500:
            response.read()
            if not retry_can_help(response.status_code, response.content):
                response.headers["x-should-retry"] = "false"  # the SDK obeys this header
        if is_flex_unavailable(response.status_code, response.content if response.is_stream_consumed else b""):
            self.limits.lost(response.request)  # no room on flex says nothing of the rate limits
        else:
            self.limits.after(response)
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if 200 <= response.status_code < 300 and kind in NOT_AN_API:
            raise _not_an_api(response, kind)

    def saw_error_event(self, event: dict) -> None:
        """A streamed event carried an error: kept whole, for the usage that came with it."""
        trace = self.trace
        if trace is not None:
            trace.error_event = event


def retry_can_help(status: int, body: bytes) -> bool:
    """Whether sending the same request again can succeed: not for an empty account (429
    insufficient_quota), nor for a 5xx whose body is the server refusing the request (a validation error
    naming a parameter it does not support)."""
    if status == 429:
        return b"insufficient_quota" not in body and not is_flex_unavailable(status, body)
    if status >= 500:
        text = body.decode("utf-8", "replace").lower()
        return not any(marker in text for marker in VALIDATION_MARKERS)
    return True


def is_flex_unavailable(status: int, body: bytes) -> bool:
    """OpenAI's 429 for a flex request when flex has no capacity: not a rate limit, and not retried (another tier
    answers; `--tier flex-or-default` asks it)."""
    return status == 429 and b"resource_unavailable" in body


def is_flex(request) -> bool:
    """A request for the flex tier, whose answers may take many minutes to start."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        return False  # an upload: its body is a stream, and no flex request
    content = request.content
    return b'"service_tier"' in content and b'"flex"' in content


@dataclass(frozen=True)
class Waits:
    """How long each phase of a request may take, in seconds."""

    connect: float     # to open the connection
    first_byte: float  # for an answer to start that streams, or comes quickly
    generation: float  # for a non-streamed generation to start: it is sent once written whole
    idle: float        # the longest silence once an answer has started
    flex: float = 900.0  # the least any wait is on the flex tier, whose answers start late (OpenAI: 15 minutes)

    @classmethod
    def of(cls, config) -> "Waits":
        return cls(config.connect_timeout, config.first_byte_timeout, config.generation_timeout,
                   config.idle_timeout, config.flex_timeout)


def is_generation(request) -> bool:
    """A request whose answer starts only once the model has written it all: a non-streamed chat, response,
    image or audio. Streamed ones (`"stream": true`) start at once; multipart uploads count as generations."""
    if request.method != "POST" or not request.url.path.rstrip("/").endswith(GENERATION_PATHS):
        return False
    if not request.headers.get("content-type", "").startswith("application/json"):
        return True
    try:
        content = request.content
        return b'"stream"' not in content or not json.loads(content).get("stream")
    except (ValueError, AttributeError, TypeError):
        return True


def http_client(watcher: HttpWatcher, waits: Waits, redact=None, tls: bool = True):
    """The SDK's httpx client with our hooks and a transport that gives each phase of a request its own wait
    (see `_Phases`); `redact(bytes) -> bytes` takes the session's keys out of every answer's body before anything
    reads it. `tls=False` for a server that speaks plain HTTP only (the bundled one): no certificates are loaded,
    which takes a fresh kernel's first answer ~0.1 s here."""
    import httpx2
    import openai
    from openai._constants import DEFAULT_CONNECTION_LIMITS

    inner = httpx2.HTTPTransport(limits=DEFAULT_CONNECTION_LIMITS, verify=_shared_tls() if tls else False)
    _track_sockets(inner)
    transport = _Phases(inner, waits, watcher.limits.lost, watcher.saw_error_event, redact)
    return openai.DefaultHttpxClient(
        transport=transport, timeout=httpx2.Timeout(waits.first_byte, connect=waits.connect),
        event_hooks={"request": [watcher.on_request], "response": [watcher.on_response]})


_tls_contexts: dict[tuple, object] = {}
_tls_lock = threading.Lock()


def _shared_tls():
    """httpx's default TLS context (the system's certificates, or those SSL_CERT_FILE / SSL_CERT_DIR name), made
    once per process and setting and shared by every client: loading the certificates took 30-80 ms of every
    client built (a new endpoint, key or setting rebuilds it)."""
    import httpx2

    settings = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    with _tls_lock:
        if settings not in _tls_contexts:
            _tls_contexts[settings] = httpx2.create_ssl_context()
        return _tls_contexts[settings]


def _track_sockets(transport) -> None:
    """Let an interrupt shut the sockets of the requests it stops (see `wire.cancel`). httpx's transport takes
    no network backend of its own, so its connection pool's is wrapped; without one, requests run to the end."""
    from openai_magics.wire.cancel import tracked_backend

    pool = getattr(transport, "_pool", None)
    if getattr(pool, "_network_backend", None) is not None:
        pool._network_backend = tracked_backend(pool._network_backend)


class NoAnswer(Exception):
    """Marker base: the server took the request and then said nothing for `seconds` (see `_Phases`);
    `phase` is "first_byte", "generation" or "idle", each with its own setting."""

    seconds: float = 0.0
    phase: str = "first_byte"


class _Phases:
    """Wraps the transport so each phase waits as long as its work may take. httpcore reads the read timeout
    from `request.extensions["timeout"]` when it starts waiting for the headers, and again when it starts
    reading the body: the first byte gets the wait of the kind of work (a non-streamed generation's first
    byte comes only once the whole answer is written), the body the idle wait.

    A silence is final, never retried (retrying would multiply the wait, and a generation may still be
    being written): it becomes the SDK's APITimeoutError, which the SDK passes through. A connect timeout
    stays retryable (nothing was sent) and carries its seconds."""

    def __init__(self, inner, waits: Waits, lost, saw_error_event, redact=None):
        self.inner, self.waits, self.lost = inner, waits, lost  # lost(request): it got no answer
        self.saw_error_event, self.redact = saw_error_event, redact

    def handle_request(self, request):
        try:
            return self._handle(request)
        except BaseException:
            self.lost(request)
            raise

    def _handle(self, request):
        import httpx2

        from openai_magics.wire.cancel import current

        scope = current()
        if scope is not None:
            scope.check()  # stopped work sends nothing more, retries included
        waits = self.waits
        if is_flex(request):
            waits = replace(waits, first_byte=max(waits.first_byte, waits.flex),
                            generation=max(waits.generation, waits.flex), idle=max(waits.idle, waits.flex))
        phase = "generation" if is_generation(request) else "first_byte"
        first = waits.generation if phase == "generation" else waits.first_byte
        timeouts = request.extensions.setdefault("timeout", {})
        timeouts.update(connect=waits.connect, read=first)
        try:
            response = self.inner.handle_request(request)
        except httpx2.ConnectTimeout as exc:
            exc.seconds = waits.connect
            raise
        except httpx2.ReadTimeout:
            raise _silent(request, first, phase) from None
        except httpx2.TimeoutException as exc:
            if phase == "generation":  # the server may still be writing the first answer: not sent again
                raise _openai().APITimeoutError(request=request) from exc
            raise
        timeouts["read"] = waits.idle  # read again by httpcore when the body starts
        response.stream = _idle_body(response.stream, request, waits.idle, _redacting(response, self.redact))
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            response.stream = _passed_body_type()(response.stream, _ErrorEvents(self.saw_error_event).pieces)
        return response

    def close(self) -> None:
        self.inner.close()

    def __enter__(self):
        self.inner.__enter__()
        return self

    def __exit__(self, *exc):
        self.inner.__exit__(*exc)


def _idle_body(inner, request, seconds: float, redacting=None):
    """The response body, whose silence beyond the idle wait is the SDK's (final) timeout error, saying so;
    redacted by `redacting` (see `_redacting`) when given."""
    body = _passed_body_type()(inner, _idle_pieces(request, seconds))
    return body if redacting is None else _passed_body_type()(body, redacting.pieces)


class _Redacting:
    """Every text a server sends passes the session's redaction before anything reads it, shows, stores, caches
    or saves it (an answer, a batch file, a job's events: a proxy may echo the Authorization header anywhere).

    The body is decoded here (gzip, deflate), so the key is found whatever the transfer encoding, and let through
    line by line: a key holds no newline, so none is split between two pieces, and a stream's events (each
    ending in a newline) are not held back."""

    def __init__(self, redact, decoder):
        self.redact, self.decoder = redact, decoder

    def pieces(self, chunks):
        pending = bytearray()
        for raw in chunks:
            for chunk in (self.decoder.decode(raw) if self.decoder else (raw,)):
                end = chunk.rfind(b"\n") + 1
                if not end:
                    pending += chunk
                    continue
                yield self.redact(bytes(pending) + chunk[:end])
                pending = bytearray(chunk[end:])
        for chunk in (self.decoder.flush() if self.decoder else ()):
            pending += chunk
        if pending:
            yield self.redact(bytes(pending))


def _redacting(response, redact) -> _Redacting | None:
    """How this response's body is redacted; None when there is nothing to redact with, or an encoding this
    client cannot decode (httpx then fails on it as it would have)."""
    if redact is None:
        return None
    from httpx2._decoders import SUPPORTED_DECODERS, MultiDecoder

    encodings = [e.strip().lower() for e in response.headers.get_list("content-encoding", split_commas=True)]
    encodings = [e for e in encodings if e and e != "identity"]
    if any(e not in SUPPORTED_DECODERS for e in encodings):
        return None
    if encodings:  # decoded here: the client must not decode it again, nor trust the length sent
        del response.headers["content-encoding"]
        response.headers.pop("content-length", None)
    return _Redacting(redact, MultiDecoder(encodings) if encodings else None)


@functools.cache
def _passed_body_type() -> type:
    import httpx2

    class PassedBody(httpx2.SyncByteStream):
        """A response body read through `passing(inner)`, a generator of the pieces it lets through; closing it
        closes the inner one."""

        def __init__(self, inner, passing):
            self.inner, self.passing = inner, passing

        def __iter__(self):
            yield from self.passing(self.inner)

        def close(self) -> None:
            self.inner.close()

    return PassedBody


def _idle_pieces(request, seconds: float):
    import httpx2

    def passing(inner):
        try:
            yield from inner
        except httpx2.ReadTimeout:
            raise _silent(request, seconds, "idle") from None

    return passing


class _ErrorEvents:
    """Passes a stream's bytes on, and hands each event that carries an error to `seen`: the SDK raises on such
    an event with its error alone, and the usage beside it (what was charged) would be lost."""

    def __init__(self, seen):
        self.seen, self.line = seen, b""

    def pieces(self, inner):
        for chunk in inner:
            self._scan(chunk)
            yield chunk

    def _scan(self, chunk: bytes) -> None:
        *lines, self.line = (self.line + chunk).split(b"\n")
        for line in lines:
            if line.startswith(b"data:") and b'"error"' in line:
                try:
                    event = json.loads(line[5:])
                except ValueError:
                    continue
                if isinstance(event, dict) and event.get("error"):
                    self.seen(event)


def _silent(request, seconds: float, phase: str):
    error = _server_silent()(request=request)
    error.seconds, error.phase = seconds, phase
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


def download(url: str, label: str, timeout: float = 60) -> tuple[bytes, str]:
    """A file from a URL the user gave (an image or audio to send), with the HTTP client the SDK brings (no
    other one need be installed): its bytes and the path it came from. A failure is one line naming `label`."""
    import httpx2
    from openai_magics.core.errors import UsageError

    try:
        response = httpx2.get(url, follow_redirects=True, timeout=timeout)
        response.raise_for_status()
    except httpx2.HTTPError as exc:
        raise UsageError(f"{label}: could not download it ({type(exc).__name__}).") from None
    return response.content, response.url.path


def _openai():
    import openai

    return openai
