"""Client-side rate limits: wait instead of sending into a 429.

One `Pace` per model keeps two buckets, requests and tokens, shaped like the server's: their size is the
`x-ratelimit-limit-*` header, their level follows `x-ratelimit-remaining-*` (never above it), and their
refill rate is read from `x-ratelimit-reset-*` (the time until the bucket is full again). A request waits
until both buckets hold what it needs. A 429 stops the model's requests for its Retry-After. A server that
sends no headers (most compatible servers) gets a rate learnt from its 429s alone: halved on each refusal,
grown slowly while requests succeed.

The pacing happens in the HTTP client's request hook, so every request the SDK makes — retries included,
from any thread — is paced: `%%chat --over`, `%%embed`, chunked audio. A request's tokens are estimated as
OpenAI does before it knows the answer: the body's characters / 4 plus the output limit asked for. Work over
many requests may instead take room before it starts one (`Limits.reserve`), with its own count of tokens.
"""
from __future__ import annotations

import functools
import json
import math
import re
import threading
import time
from dataclasses import dataclass

OUTPUT_LIMITS = ("max_completion_tokens", "max_tokens", "max_output_tokens")
DEFAULT_WINDOW = 60.0        # OpenAI's limits are per minute until a reset header says otherwise
PROBE_WAIT = 10.0            # longest wait for the first answer's headers before sending more
NO_RETRY_AFTER = 1.0         # a 429 that does not say how long to wait
LONGEST_WAIT = 60.0          # the longest a request waits here for room; a longer wait is refused in one line
GROWTH = 1.05                # a headerless server's learnt rate, after each success
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str | None) -> float | None:
    """OpenAI's reset format (`20ms`, `1s`, `6m0s`, `1h2m3.5s`) in seconds; None when unreadable."""
    if not text:
        return None
    parts = _DURATION.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        return None
    return sum(float(n) * _SECONDS[u] for n, u in parts)


@dataclass
class PaceBucket:
    capacity: float
    per_second: float
    level: float
    at: float
    full_at: float = 0.0      # when the server said its bucket would be full again
    taken_since: float = 0.0  # what we took since it said so
    measured: bool = False    # the rate was read from the headers (not the per-minute default)

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.at) * self.per_second)
        if not self.measured and now >= self.full_at:  # no rate read yet: the server's word on when it is full
            self.level = max(self.level, self.capacity - self.taken_since)
        self.at = now

    def take(self, amount: float) -> None:
        self.level -= amount
        self.taken_since += amount

    def wait_for(self, amount: float) -> float:
        short = min(amount, self.capacity) - self.level
        if short <= 0:
            return 0.0
        return short / self.per_second if self.per_second > 0 else math.inf

    def observe(self, limit: int, remaining: int, reset: float | None, now: float, uncounted: float,
                newest: bool) -> None:
        """Take the server's view: its size, a level no higher than it says, the rate its reset implies, and
        when it will be full again. `uncounted` is what we sent that the server may not have counted when it
        answered (sent after that request, or before it and still unanswered); `newest` is False for an
        answer older than one already read, whose word on fullness is out of date."""
        self.refill(now)
        self.capacity = float(limit)
        if reset and limit - remaining > 1:
            # `remaining` is rounded down and the reset up, so this is a lower bound of the true rate: the
            # highest bound seen is the closest, and pacing by it never outruns the server.
            self.per_second = max(self.per_second, (limit - remaining - 1) / reset)
            self.measured = True
        self.level = min(self.level, float(remaining) - uncounted)
        if reset is not None and newest:
            self.full_at, self.taken_since = now + reset, uncounted


class Pace:
    """One model's limits, shared by every thread that calls it."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.requests: PaceBucket | None = None
        self.tokens: PaceBucket | None = None
        self.blocked_until = 0.0
        self.headerless = False          # the server answered without rate-limit headers
        self.learnt_rate: float | None = None   # requests/s, for a headerless server after a 429
        self._sent: list[float] = []     # recent send times (a headerless server's observed rate)
        self._probing = False            # the first request is out; the rest wait for its headers
        self._probe_at = 0.0
        self._sent_total = [0, 0]        # requests and tokens sent so far
        self._newest = 0                 # the latest request (by sending order) whose answer was read
        self._unanswered: dict[int, int] = {}  # sending number → tokens, of requests not answered yet
        self.waited = 0.0                # seconds requests spent waiting here
        self.refusals = 0                # 429s seen

    def acquire(self, tokens: int, model: str = "") -> tuple[int, int]:
        """Block until one request of `tokens` may go, then count it; its mark (requests and tokens sent
        up to and including it) goes back to `observe` with its answer. A wait longer than LONGEST_WAIT is
        not made: the request is refused at once (TooLongAWait), naming the wait."""
        from openai_magics.wire.cancel import current

        while True:
            with self._lock:
                now = time.monotonic()
                delay = self._delay(tokens, now)
                if delay <= 0:
                    return self._take(tokens, time.monotonic())
                if delay > LONGEST_WAIT:
                    raise too_long_a_wait(delay, model, "its Retry-After" if now < self.blocked_until
                                          else "its rate-limit headers")
            if current() is not None:
                current().check()  # work stopped by an interrupt waits for nothing
            self.waited += delay
            time.sleep(min(delay, 0.25))  # short naps: an interrupt in the main thread lands at once

    def try_acquire(self, tokens: int) -> tuple[bool, tuple[int, int] | None]:
        """Count one request of `tokens` if it may go now, without waiting: (True, its mark); (True, None)
        while the limits are not known yet (the request is paced when sent); (False, None) when it must wait."""
        with self._lock:
            if self.requests is None:
                return True, None
            now = time.monotonic()
            if self._delay(tokens, now) > 0:
                return False, None
            return True, self._take(tokens, now)

    def _delay(self, tokens: int, now: float) -> float:
        if now < self.blocked_until:
            return self.blocked_until - now
        if self.requests is None and not self.headerless:
            if self._probing and now - self._probe_at < PROBE_WAIT:
                return 0.02
            return 0.0
        if self.requests is not None:
            self.requests.refill(now)
            self.tokens.refill(now)
            return max(self.requests.wait_for(1), self.tokens.wait_for(tokens))
        if self.learnt_rate is not None and self._sent:
            return self._sent[-1] + 1 / self.learnt_rate - now
        return 0.0

    def _take(self, tokens: int, now: float) -> tuple[int, int]:
        self._sent_total = [self._sent_total[0] + 1, self._sent_total[1] + tokens]
        mark = tuple(self._sent_total)
        self._unanswered[mark[0]] = tokens
        if self.requests is not None:
            self.requests.take(1)
            self.tokens.take(min(tokens, self.tokens.capacity))
        elif not self.headerless:
            self._probing, self._probe_at = True, now
        self._sent = [t for t in self._sent if now - t < 2.0] + [now]
        return mark

    def observe(self, headers, status: int, mark: tuple[int, int] | None = None) -> None:
        """What the answer to the request marked `mark` (see acquire) says about the limits."""
        now = time.monotonic()
        numbers = {name: _int(headers.get(f"x-ratelimit-{name}"))
                   for name in ("limit-requests", "remaining-requests", "limit-tokens", "remaining-tokens")}
        with self._lock:
            self._probing = False
            if mark is not None:
                self._unanswered.pop(mark[0], None)
            newest = mark is not None and mark[0] > self._newest
            if newest:
                self._newest = mark[0]
            after = self._uncounted(mark)
            if status == 429:
                self._refused(headers, now)
            if None in numbers.values() or not numbers["limit-requests"] or not numbers["limit-tokens"]:
                # no headers, or a limit of 0 (nonsense beside an answer): paced as a headerless server
                self.headerless = self.requests is None
                if status != 429 and self.learnt_rate is not None:
                    self.learnt_rate *= GROWTH
                return
            if self.requests is None:
                self.requests = PaceBucket(numbers["limit-requests"], numbers["limit-requests"] / DEFAULT_WINDOW,
                                       numbers["remaining-requests"], now)
                self.tokens = PaceBucket(numbers["limit-tokens"], numbers["limit-tokens"] / DEFAULT_WINDOW,
                                     numbers["remaining-tokens"], now)
            self.requests.observe(numbers["limit-requests"], numbers["remaining-requests"],
                                  parse_duration(headers.get("x-ratelimit-reset-requests")), now, after[0], newest)
            self.tokens.observe(numbers["limit-tokens"], numbers["remaining-tokens"],
                                parse_duration(headers.get("x-ratelimit-reset-tokens")), now, after[1], newest)

    def lost(self, mark: tuple[int, int] | None) -> None:
        """The request marked `mark` got no answer (it could not connect, timed out, was cancelled): the
        requests waiting for its headers go ahead (the next answer tells the limits instead)."""
        with self._lock:
            self._probing = False
            if mark is not None:
                self._unanswered.pop(mark[0], None)

    def _uncounted(self, mark) -> list[int]:
        """Requests and tokens the server may not have counted when it answered the request `mark`: all
        sent after it, and those sent before it still unanswered (they may reach it later)."""
        if mark is None:
            return [len(self._unanswered), sum(self._unanswered.values())]
        earlier = [tokens for seq, tokens in self._unanswered.items() if seq < mark[0]]
        return [self._sent_total[0] - mark[0] + len(earlier), self._sent_total[1] - mark[1] + sum(earlier)]

    def _refused(self, headers, now: float) -> None:
        self.refusals += 1
        wait = _retry_after(headers)
        self.blocked_until = max(self.blocked_until, now + (NO_RETRY_AFTER if wait is None else wait))
        recent = [t for t in self._sent if now - t < 2.0]
        observed = len(recent) / 2.0 if recent else 1.0
        self.learnt_rate = max(0.2, min(self.learnt_rate or observed, observed) / 2)


class Limits:
    """Every model's Pace, fed by the HTTP client's hooks."""

    def __init__(self) -> None:
        self._paces: dict[str, Pace] = {}
        self._lock = threading.Lock()

    def pace(self, model: str) -> Pace:
        with self._lock:
            if model not in self._paces:
                self._paces[model] = Pace()
            return self._paces[model]

    def reserve(self, model: str, tokens: int) -> "Reservation | None":
        """Room for one request of `tokens` to `model` now, taken from its buckets, or None when there is
        none yet. The caller sends that request inside the reservation (`with reservation:`): it is not
        paced again. This is how work over many requests admits one more (tokens counted by the caller)
        instead of starting it only to wait here."""
        may_go, mark = self.pace(model).try_acquire(tokens)
        return Reservation(self, model, mark) if may_go else None

    def before(self, request) -> None:
        """The request hook: wait until the request's model has room for it (unless this thread holds a
        reservation for it)."""
        sized = sized_request(request)
        if sized is not None:
            model, tokens = sized
            request.extensions["openai_magics_model"] = model
            held = getattr(_held, "reservation", None)
            if held is not None and held.model == model and held.mark is not None and not held.used:
                held.used = True
                request.extensions["openai_magics_mark"] = held.mark
            else:
                request.extensions["openai_magics_mark"] = self.pace(model).acquire(tokens, model)

    def after(self, response) -> None:
        model = response.request.extensions.get("openai_magics_model")
        if model is not None:
            mark = response.request.extensions.get("openai_magics_mark")
            self.pace(model).observe(response.headers, response.status_code, mark)

    def lost(self, request) -> None:
        """The request ended without an answer."""
        model = request.extensions.get("openai_magics_model")
        if model is not None:
            self.pace(model).lost(request.extensions.get("openai_magics_mark"))

    @property
    def refusals(self) -> int:
        with self._lock:
            return sum(p.refusals for p in self._paces.values())


_held = threading.local()


class Reservation:
    """Room taken for one request (see `Limits.reserve`); its first request sent in this thread, inside the
    `with` block, uses it. Unused, it is given up as a request that got no answer."""

    def __init__(self, limits: Limits, model: str, mark: tuple[int, int] | None):
        self.limits, self.model, self.mark, self.used = limits, model, mark, False

    def __enter__(self) -> "Reservation":
        _held.reservation = self
        return self

    def __exit__(self, *exc) -> None:
        _held.reservation = None
        self.release()

    def release(self) -> None:
        """Give the room back if no request used it (its work failed first, or was never started)."""
        if not self.used and self.mark is not None:
            self.used = True
            self.limits.pace(self.model).lost(self.mark)


def sized_request(request) -> tuple[str, int] | None:
    """(model, tokens it may use) for a JSON POST naming a model; None for anything else (files, lists…)."""
    if request.method != "POST" or "json" not in request.headers.get("content-type", ""):
        return None
    try:
        raw = request.content
        body = json.loads(raw)
    except (ValueError, AttributeError, RuntimeError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        return None
    asked = next((body[k] for k in OUTPUT_LIMITS if isinstance(body.get(k), int)), 0)
    return body["model"], math.ceil(len(raw) / 4) + asked


class TooLongAWait(Exception):
    """Marker: the server asked for a wait longer than LONGEST_WAIT before the next request (see
    `too_long_a_wait`); its message is the one line to show."""


def too_long_a_wait(seconds: float, model: str, why: str) -> Exception:
    """The SDK's own error kind (it passes it through without retrying), marked TooLongAWait."""
    import openai

    kind = _too_long_kind(openai.OpenAIError)
    until = "" if math.isinf(seconds) else f" (until {time.strftime('%H:%M', time.localtime(time.time() + seconds))})"
    wait = "no end" if math.isinf(seconds) else f"{seconds:,.0f} s"
    return kind(f"The server asked, by {why}, for a wait of {wait}{until} before the next request to "
                f"{model or 'this model'}; this client waits at most {LONGEST_WAIT:g} s, so nothing was sent. "
                "Re-run later, or use another model or endpoint.")


@functools.cache
def _too_long_kind(base: type) -> type:
    return type("RateLimitWaitTooLong", (base, TooLongAWait), {})


def _int(value) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _retry_after(headers) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return float(headers[name]) * scale
        except (KeyError, TypeError, ValueError):
            continue
    return None
