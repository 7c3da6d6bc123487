"""Faults the offline server can inject, so tests and notebooks can show what goes wrong for real."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    429: "rate_limit_error",
}
DEFAULT_MESSAGES = {
    401: "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
    429: "Rate limit reached for requests. Please try again in a moment.",
    500: "The server had an error while processing your request. Sorry about that!",
    503: "The engine is currently overloaded, please try again later.",
}
DEFAULT_CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded"}
# What OpenAI answers a flex request when flex processing has no capacity (no charge; another tier may answer).
FLEX_UNAVAILABLE = ("Resource unavailable: flex processing has no capacity for this request right now. "
                    "Please retry later or use another service tier.")


HTML_PAGE = ("<html><head><title>{status} Bad Gateway</title></head><body><center><h1>{status} Bad Gateway"
             "</h1></center><hr><center>nginx</center></body></html>")
NOT_JSON = "upstream connect error or disconnect/reset before headers. reset reason: connection termination"
BROKEN_EVENT = b'data: {"id": "chatcmpl-broken", "choices": [{"delta": {"content": "Hel\n\n'

# What a fault does besides (or instead of) an HTTP error status.
HANG = "hang"              # never answer: hold the connection for `hang_seconds`, then drop it
NOT_JSON_BODY = "not_json"  # 200 whose body is not JSON although it says it is
HTML_ERROR = "html"         # an error page from a proxy in front of the API, in HTML
BAD_STREAM = "bad_stream"   # a 200 stream whose events after `cut_after` are not JSON
STREAM_ERROR = "stream_error"  # a 200 stream whose last chunk carries an error and the usage (OpenRouter's)


@dataclass
class Fault:
    """One fault: an HTTP error (`status`), a stream cut after `cut_after` chunks, or one of the kinds above."""

    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None
    cut_after: int | None = None
    path: str | None = None
    times: int = 1
    kind: str | None = field(default=None, repr=False)  # repr: as before kinds existed, for saved notebooks
    hang_seconds: float = field(default=0.0, repr=False)
    usage: dict | None = field(default=None, repr=False)  # STREAM_ERROR: the usage its last chunk reports
    tier: str | None = field(default=None, repr=False)  # only requests that ask for this service tier

    def matches(self, path: str, tier: str | None = None) -> bool:
        return (self.path is None or path.endswith(self.path)) and (self.tier is None or self.tier == tier)

    @property
    def streams_only(self) -> bool:
        return self.cut_after is not None or self.kind in (BAD_STREAM, STREAM_ERROR)

    def error_body(self) -> dict:
        status = self.status or 500
        code = self.code or DEFAULT_CODES.get(status)
        kind = "insufficient_quota" if code == "insufficient_quota" else ERROR_TYPES.get(status, "server_error")
        return {"error": {"message": self.message or DEFAULT_MESSAGES.get(status, "Error"), "type": kind,
                          "param": None, "code": code}}


def error_at_the_end(events, fault: Fault) -> list[dict]:
    """A Chat Completions stream whose last chunk, instead of its finish, carries an error and the usage (the
    fault's, or what the stream would have reported), as OpenRouter ends a stream that hit its token limit."""
    events = list(events)
    usage = fault.usage or next((e["usage"] for e in reversed(events) if e.get("usage")), None)
    answer = [e for e in events if not e.get("usage") and not any(c.get("finish_reason") for c in e.get("choices") or [])]
    last = {**events[-1], "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "error"}],
            "error": {"message": fault.message or "Error", "code": fault.code}}
    if usage is not None:
        last["usage"] = usage
    return answer + [last]


class FaultQueue:
    """Faults are taken in the order they were added, each for `times` matching requests."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, **fields) -> Fault:
        """Queue the fault these `Fault` fields describe."""
        fault = Fault(**fields)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, path: str, streaming: bool, tier: str | None = None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(path, tier) and (streaming or not fault.streams_only):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
