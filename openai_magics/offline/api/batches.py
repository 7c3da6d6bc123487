"""`/batches`: create, retrieve, list and cancel; the batch's requests run through this server's own
endpoints, one every `seconds_per_request`, in a background thread.

Answers go to an output file and failures to an error file (in `/files`), one JSON line each with its
`custom_id`, in an order of their own (as OpenAI's are), so clients must align them by id.
`fail_lines(n, message)` makes the next `n` lines fail, to show how failures come back. With a `queue_limit`,
a batch whose input tokens would take the model's unfinished batches over it fails at once with
`token_limit_exceeded`, as OpenAI's enqueued-token limit does. An input file over OpenAI's lines or bytes per
batch is refused.
"""
from __future__ import annotations

import hashlib
import io
import itertools
import json
import threading
import time
from dataclasses import dataclass, field

from openai_magics.facts.data import load
from openai_magics.offline.errors import RequestError, known
from openai_magics.offline.api.files import Files
from openai_magics.offline.api.listing import listed, page
from openai_magics.offline.router import Route, collection
from openai_magics.offline.wire import Request

_ids = itertools.count(1)
ENDPOINTS = ("/v1/chat/completions", "/v1/embeddings", "/v1/responses", "/v1/completions")


@dataclass
class OfflineBatch:
    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    metadata: dict | None
    created_at: int
    status: str = "validating"
    total: int = 0
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    times: dict = field(default_factory=dict)  # in_progress_at, completed_at…
    stop: threading.Event = field(default_factory=threading.Event)
    model: str = ""
    tokens: int = 0                             # its input tokens, while it holds the model's queue
    errors: list = field(default_factory=list)

    def as_object(self) -> dict:
        names = ("in_progress_at", "finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at",
                 "cancelled_at")
        errors = {"object": "list", "data": self.errors} if self.errors else None
        return {"id": self.id, "object": "batch", "endpoint": self.endpoint, "errors": errors,
                "input_file_id": self.input_file_id, "completion_window": self.completion_window,
                "status": self.status, "output_file_id": self.output_file_id, "error_file_id": self.error_file_id,
                "created_at": self.created_at, "expires_at": self.created_at + 86_400,
                **{name: self.times.get(name) for name in names},
                "request_counts": {"total": self.total, "completed": self.completed, "failed": self.failed},
                "metadata": self.metadata}


class Batches:
    def __init__(self) -> None:
        self._batches: dict[str, OfflineBatch] = {}
        self.lock = threading.Lock()
        self.seconds_per_request = 0.0
        self.failing = 0
        self.failure = "Injected failure"
        self.queue_limit: int | None = None  # enqueued input tokens per model (None: no limit)

    def fail_lines(self, times: int, message: str = "Injected failure") -> None:
        with self.lock:
            self.failing, self.failure = times, message

    def take_failure(self) -> str | None:
        with self.lock:
            if self.failing <= 0:
                return None
            self.failing -= 1
            return self.failure

    def add(self, batch: OfflineBatch) -> None:
        with self.lock:
            self._batches[batch.id] = batch

    def get(self, batch_id: str) -> OfflineBatch:
        with self.lock:
            return known(self._batches, batch_id, "OfflineBatch", "batch_id")

    def enqueued(self, model: str) -> int:
        """Input tokens of the model's batches that have not finished."""
        with self.lock:
            return sum(b.tokens for b in self._batches.values()
                       if b.model == model and b.status in ("validating", "in_progress", "finalizing"))

    def all(self) -> list[OfflineBatch]:
        with self.lock:
            return list(self._batches.values())


def create(state, request) -> dict:
    endpoint = request.required("endpoint")
    if endpoint not in ENDPOINTS:
        raise RequestError(f"Invalid 'endpoint': {endpoint!r}.", param="endpoint")
    files, batches = state.part(Files), state.part(Batches)
    data = files.content(request.required("input_file_id"))
    first = _check_lines(data, endpoint)
    model = str(first["body"].get("model", ""))
    batch = OfflineBatch(f"batch_offline{next(_ids)}", endpoint, request.body["input_file_id"],
                  request.required("completion_window"), request.body.get("metadata"), int(time.time()),
                  total=sum(1 for _ in _each(data)), model=model)
    if batches.queue_limit is not None:
        batch.tokens = sum(_input_tokens(line["body"], model) for line in _each(data))
        if batches.enqueued(model) + batch.tokens > batches.queue_limit:
            batch.status, batch.times["failed_at"], batch.total = "failed", int(time.time()), 0
            batch.errors = [{"code": "token_limit_exceeded", "line": None, "param": None, "message":
                             f"Enqueued token limit reached for {model} in organization org-offline. Limit: "
                             f"{batches.queue_limit:,} enqueued tokens. Please try submitting again later."}]
            batches.add(batch)
            return batch.as_object()
    batches.add(batch)
    threading.Thread(target=_run, args=(state, batch, _each(data)), name=f"offline-{batch.id}", daemon=True).start()
    return batch.as_object()


def _input_tokens(body: dict, model: str) -> int:
    from openai_magics.offline.tokens import count, count_messages

    if isinstance(body.get("messages"), list):
        return count_messages(body["messages"], model)
    text = body.get("input")
    return sum(count(t, model) for t in ([text] if isinstance(text, str) else text or []) if isinstance(t, str))


def _each(data: bytes):
    """The file's requests, read one line at a time: a 200 MB file is neither copied nor held parsed."""
    for text in io.BytesIO(data):
        if text.strip():
            yield json.loads(text)


def _check_lines(data: bytes, endpoint: str) -> dict:
    """Refuse a file OpenAI would refuse (too big, not JSON lines, another endpoint, a repeated custom_id);
    its first request."""
    limits = load("batch_limits.json")
    if len(data) > limits["max_bytes"]:
        raise RequestError(f"The input file is {len(data):,} bytes: a batch's file may hold at most "
                           f"{limits['max_bytes']:,} bytes (200 MB).", param="input_file_id")
    first, seen = None, set()
    for n, text in enumerate(io.BytesIO(data), 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError:
            raise RequestError(f"Line {n} of the input file is not JSON.", param="input_file_id") from None
        if not isinstance(line, dict) or not {"custom_id", "method", "url", "body"} <= set(line):
            raise RequestError(f"Line {n} needs custom_id, method, url and body.", param="input_file_id")
        if line["url"] != endpoint:
            raise RequestError(f"Line {n} is for {line['url']}, the batch for {endpoint}.", param="input_file_id")
        if line["custom_id"] in seen:
            raise RequestError(f"Line {n}: custom_id {line['custom_id']!r} is not unique.", param="input_file_id")
        seen.add(line["custom_id"])
        first = first or line
    if first is None:
        raise RequestError("The input file holds no requests.", param="input_file_id")
    if len(seen) > limits["max_lines"]:
        raise RequestError(f"The input file holds {len(seen):,} requests: a batch may hold at most "
                           f"{limits['max_lines']:,}.", param="input_file_id")
    return first


def _run(state, batch: OfflineBatch, lines) -> None:
    from openai_magics.offline import api
    from openai_magics.offline.router import discover

    router, batches = discover(api), state.part(Batches)
    batch.status, batch.times["in_progress_at"] = "in_progress", int(time.time())
    answers, errors = [], []
    for line in lines:
        if batch.stop.is_set():
            break
        if batches.seconds_per_request and batch.stop.wait(batches.seconds_per_request):
            break  # cancelled while pacing
        status, body = _answer(state, router, line, batches.take_failure())
        entry = {"id": f"batch_req_{hashlib.sha1(line['custom_id'].encode()).hexdigest()[:16]}",
                 "custom_id": line["custom_id"], "response": {"status_code": status, "request_id": "req_offline",
                                                              "body": body}, "error": None}
        (answers if status == 200 else errors).append(entry)
        batch.completed += status == 200
        batch.failed += status != 200
    batch.status, batch.times["finalizing_at"] = ("cancelling" if batch.stop.is_set() else "finalizing",
                                                  int(time.time()))
    files = state.part(Files)
    for entries, name in ((answers, "output_file_id"), (errors, "error_file_id")):
        if entries:
            entries.sort(key=lambda e: e["id"])  # not the input order: clients align by custom_id
            data = "".join(json.dumps(e) + "\n" for e in entries).encode()
            stored = files.add(f"{batch.id}_{name.split('_')[0]}.jsonl", "batch_output", data, "application/jsonl")
            setattr(batch, name, stored.id)
    finished = "cancelled" if batch.stop.is_set() else "completed"
    batch.status, batch.times[f"{finished}_at"] = finished, int(time.time())


def _answer(state, router, line: dict, failure: str | None) -> tuple[int, dict]:
    if failure is not None:
        return 500, {"error": {"message": failure, "type": "server_error", "param": None, "code": None}}
    method, path = line.get("method", "POST"), line["url"]
    match = router.match(method, path)
    body = {k: v for k, v in line["body"].items() if k not in ("stream", "stream_options")}
    try:
        if match.route is None:
            raise RequestError(f"Invalid URL ({method} {path})", code="unknown_url")
        result = match.route.handler(state, Request(method, path, match.params, {}, body))
    except RequestError as e:
        return e.status, {"error": {"message": str(e), "type": "invalid_request_error", "param": e.param,
                                    "code": e.code}}
    if not isinstance(result, dict):
        return 500, {"error": {"message": "Streaming is not available in a batch.", "type": "server_error"}}
    return 200, result


def retrieve(state, request) -> dict:
    return state.part(Batches).get(request.params["batch_id"]).as_object()


def cancel(state, request) -> dict:
    batch = state.part(Batches).get(request.params["batch_id"])
    if batch.status in ("validating", "in_progress"):
        batch.stop.set()
        batch.status, batch.times["cancelling_at"] = "cancelling", int(time.time())
    return batch.as_object()


def list_batches(state, request) -> dict:
    batches = sorted(state.part(Batches).all(), key=lambda b: int(b.id.removeprefix("batch_offline")),
                     reverse=True)
    return listed(*page([b.as_object() for b in batches], request))


ROUTES = [
    *collection("/batches", "batch_id", create=create, list=list_batches, retrieve=retrieve),
    Route("POST", "/batches/{batch_id}/cancel", cancel),
]
