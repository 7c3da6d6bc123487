"""An OpenAI-compatible HTTP server on 127.0.0.1 that answers deterministically.

Real HTTP, real SSE: the openai SDK talks to it exactly as it talks to OpenAI. Requests are routed by
method and path (with path parameters) to the endpoint modules in `offline/api/`; JSON and
multipart/form-data bodies are validated against OpenAI's OpenAPI document; answers are JSON, raw bytes
or event streams, each with `x-ratelimit-*` headers. It logs every request (without headers, so never a
key), and injects faults on demand.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from openai_magics.offline import quirks as quirk_hooks
from openai_magics.offline.azure import translate as translate_azure
from openai_magics.offline.api.batches import Batches
from openai_magics.offline.api.models import unknown_model
from openai_magics.offline.errors import RequestError
from openai_magics.offline.prompt_cache import PromptCache
from openai_magics.offline.faults import (BAD_STREAM, BROKEN_EVENT, FLEX_UNAVAILABLE, HANG, HTML_ERROR, HTML_PAGE,
                                          NOT_JSON, NOT_JSON_BODY, STREAM_ERROR, Fault, FaultQueue, error_at_the_end)
from openai_magics.offline.ratelimits import RateLimiter, estimate_tokens
from openai_magics.offline import api
from openai_magics.offline.router import discover
from openai_magics.offline.tokens import encode_apart, stop_encoding_apart
from openai_magics.offline.wire import BadBody, Binary, Request, media_type, read_body, split_query

OPENAPI_ENV = "OPENAI_MAGICS_OPENAPI"
DEFAULT_HANG_SECONDS = 30.0  # a hang ends by itself, so a test that forgets it still finishes
CLIENT_LEFT = 499  # the status logged for a request whose client hung up before its answer (nginx's)


@dataclass
class LoggedRequest:
    method: str
    path: str
    body: dict | None
    status: int = 0
    files: dict = field(default_factory=dict)  # multipart uploads: field → Upload (or a list of them)


@dataclass
class ServerState:
    """What the server remembers between requests. Endpoint modules keep theirs with `part(kind)`."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    prompt_cache: PromptCache = field(default_factory=PromptCache)
    responses: dict = field(default_factory=dict)
    log: list[LoggedRequest] = field(default_factory=list)
    parts: dict = field(default_factory=dict)
    quirks: frozenset = frozenset()  # the compatible-server quirks in force (see offline/quirks.py)
    moved: dict = field(default_factory=dict)  # alias → the newer snapshot it now answers as (move_alias)
    any_model: bool = False          # answer any model name, not only OpenAI's (compatible-server rehearsal)

    def part(self, kind: type):
        """The server's one instance of `kind` (the files store, the batches…), made on first use."""
        with self.lock:
            if kind not in self.parts:
                self.parts[kind] = kind()
            return self.parts[kind]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client dropping a kept-alive connection is normal (an interrupted cell); anything else is not."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def find_openapi_document() -> Path | None:
    """`$OPENAI_MAGICS_OPENAPI`, else `../shared/openapi/openapi.json` from here or the project root."""
    candidates = [os.environ.get(OPENAPI_ENV)] if os.environ.get(OPENAPI_ENV) else []
    root = Path(__file__).resolve().parents[2]
    candidates += [Path.cwd() / "../shared/openapi/openapi.json", root / "../shared/openapi/openapi.json"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve()
    return None


class OfflineServer:
    """Start with `start()` (or as a context manager); `base_url` is what the SDK needs."""

    def __init__(self, openapi: str | Path | None = None, latency: float = 0.0, chunk_delay: float = 0.0,
                 quirks=(), any_model: bool = False, validate_apart: bool = False):
        self.openapi = Path(openapi) if openapi else None
        self.validate_apart = validate_apart  # validate and encode in a process of its own (offline/helper_process.py)
        self.latency = latency          # seconds added before every response
        self.chunk_delay = chunk_delay  # seconds between streamed chunks
        self.stream_usage = True        # False: behave like the many compatible servers that never send it
        self.faults = FaultQueue()
        self.limits = RateLimiter()
        self.state = ServerState()
        self.default_quirks = quirk_hooks.expand(quirks)
        self.quirks = self.default_quirks  # behave like a real compatible server (see offline/quirks.py)
        self.default_any_model = self.state.any_model = any_model
        self.router = discover(api)
        self._released = threading.Event()  # set to end every hanging request at once
        self._validator = None
        self._validator_loaded = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle --
    def start(self) -> "OfflineServer":
        if self.openapi:  # read (3.4 MB) while the client gets ready; the first request waits for it
            threading.Thread(target=self._load_validator, name="openai-magics-offline-openapi", daemon=True).start()
        else:
            self._validator_loaded.set()
        self._httpd = _QuietServer(("127.0.0.1", 0), _make_handler(self))
        threading.Thread(target=self._httpd.serve_forever, name="openai-magics-offline", daemon=True).start()
        return self

    def _load_validator(self) -> None:
        try:
            if self.validate_apart:
                from openai_magics.offline.helper_process import HelperProcess

                self._validator = HelperProcess(self.openapi)
                encode_apart(self._validator)
            else:
                from openai_magics.offline.validation import load_validator

                self._validator = load_validator(str(self.openapi))
        except OSError:  # no process could be started: validate here
            from openai_magics.offline.validation import load_validator

            self._validator = load_validator(str(self.openapi))
        finally:
            self._validator_loaded.set()

    @property
    def validator(self):
        """The OpenAPI request validator (None without a document), once it is loaded."""
        self._validator_loaded.wait()
        if self.openapi and self._validator is None:
            raise RuntimeError(f"the OpenAPI document {self.openapi} could not be read")
        return self._validator

    def stop(self) -> None:
        self._release_hangs()
        if hasattr(self._validator, "stop"):
            stop_encoding_apart(self._validator)
            self._validator.stop()
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def quirks(self) -> frozenset:
        return self.state.quirks

    @quirks.setter
    def quirks(self, quirks) -> None:
        self.state.quirks = frozenset(quirks)

    @property
    def any_model(self) -> bool:
        """True: answer any model name, as a compatible server with models of its own would; False: only
        OpenAI's, with OpenAI's 404 for any other."""
        return self.state.any_model

    @any_model.setter
    def any_model(self, value: bool) -> None:
        self.state.any_model = bool(value)

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    # -- what tests look at and control --
    @property
    def requests(self) -> list[LoggedRequest]:
        with self.state.lock:
            return list(self.state.log)

    def clear_log(self) -> None:
        with self.state.lock:
            self.state.log.clear()

    def fail(self, status: int, *, times: int = 1, code: str | None = None, message: str | None = None,
             retry_after: float | None = None, path: str | None = None) -> Fault:
        """The next `times` matching requests fail with this HTTP status."""
        return self.faults.add(status=status, code=code, message=message, retry_after=retry_after,
                               path=path, times=times)

    def cut_stream(self, after_chunks: int, *, times: int = 1, path: str | None = None) -> Fault:
        """The next streamed response stops after this many chunks, without its end."""
        return self.faults.add(cut_after=after_chunks, path=path, times=times)

    def hang(self, seconds: float = DEFAULT_HANG_SECONDS, *, times: int = 1, path: str | None = None) -> Fault:
        """The next requests are never answered: the connection stays silent for `seconds` (or until
        `reset()`), then closes."""
        return self.faults.add(kind=HANG, hang_seconds=seconds, path=path, times=times)

    def answer_not_json(self, *, times: int = 1, path: str | None = None) -> Fault:
        """The next requests get a 200 whose body is not JSON (a broken proxy's answer)."""
        return self.faults.add(kind=NOT_JSON_BODY, status=200, path=path, times=times)

    def html_error(self, status: int = 502, *, times: int = 1, path: str | None = None) -> Fault:
        """The next requests get an HTML error page, as a proxy or load balancer in front of the API sends."""
        return self.faults.add(kind=HTML_ERROR, status=status, path=path, times=times)

    def malformed_stream(self, after_chunks: int = 2, *, times: int = 1, path: str | None = None) -> Fault:
        """The next streamed responses send `after_chunks` good events, then one that is not JSON."""
        return self.faults.add(kind=BAD_STREAM, cut_after=after_chunks, path=path, times=times)

    def flex_unavailable(self, *, times: int = 1) -> Fault:
        """The next `times` requests for the flex tier get OpenAI's 429 `resource_unavailable` (others answer)."""
        return self.faults.add(status=429, code="resource_unavailable", message=FLEX_UNAVAILABLE,
                               times=times, tier="flex")

    def report_usage(self, prompt_tokens: int | None = None, completion_tokens: int | None = None, *,
                     service_tier: str | None = None, times: int = 1) -> None:
        """The next `times` chat answers report this usage (and service tier) instead of their own."""
        from openai_magics.offline.api.chat import Billing

        report = {k: v for k, v in (("prompt_tokens", prompt_tokens), ("completion_tokens", completion_tokens),
                                    ("service_tier", service_tier)) if v is not None}
        with self.state.lock:
            self.state.part(Billing).reports[:] = [dict(report) for _ in range(times)]

    def stream_error(self, message: str, *, code: str | None = None, usage: dict | None = None, times: int = 1,
                     path: str | None = None) -> Fault:
        """The next streamed chat answers end on a chunk that carries this error and the usage (given, or the
        stream's own) instead of their finish (OpenRouter's "Token limit reached")."""
        return self.faults.add(kind=STREAM_ERROR, message=message, code=code, usage=usage, path=path,
                               times=times)

    def move_alias(self, alias: str, snapshot: str) -> None:
        """From now on (until `reset()`) `alias` answers as `snapshot`, as OpenAI moves an alias to a new
        version; the old snapshot still answers when asked by name."""
        with self.state.lock:
            self.state.moved[alias] = snapshot

    def enforce_limits(self, requests: float | None = None, tokens: float | None = None, *,
                       requests_per: float = 1.0, tokens_per: float = 60.0) -> None:
        """Refuse, with 429 and Retry-After, more than `requests` requests per `requests_per` seconds or
        `tokens` tokens per `tokens_per` seconds (until `reset()`)."""
        self.limits.enforce(requests, tokens, requests_per=requests_per, tokens_per=tokens_per)

    def batch_pace(self, seconds_per_request: float) -> None:
        """Run batches' requests one every `seconds_per_request` (until `reset()`)."""
        self.state.part(Batches).seconds_per_request = seconds_per_request

    def batch_queue(self, tokens: int | None) -> None:
        """Each model's enqueued-token limit: a batch that would take its unfinished batches' input tokens over
        it fails with `token_limit_exceeded` (until `reset()`; None: no limit)."""
        self.state.part(Batches).queue_limit = tokens

    def fail_batch_lines(self, times: int, message: str = "Injected failure") -> None:
        """The next `times` requests run inside batches fail (they go to the batch's error file)."""
        self.state.part(Batches).fail_lines(times, message)

    def reset(self) -> None:
        self.report_usage(times=0)
        self.batch_pace(0.0)
        self.fail_batch_lines(0)
        self.batch_queue(None)
        self.faults.clear()
        self._release_hangs()
        self.limits.reset()
        with self.state.lock:
            self.state.moved.clear()
            self.state.prompt_cache.clear()
        self.latency = self.chunk_delay = 0.0
        self.stream_usage = True
        self.quirks = self.default_quirks
        self.any_model = self.default_any_model
        self.clear_log()

    def behave_like(self, *names: str) -> frozenset[str]:
        """Take on these quirks or profiles (until `reset()`), e.g. `behave_like("llama.cpp")`."""
        self.quirks = quirk_hooks.expand(names)
        return self.quirks

    def _release_hangs(self) -> None:
        released, self._released = self._released, threading.Event()
        released.set()

    def __repr__(self) -> str:
        state = self.base_url if self.running else "stopped"
        return f"<OfflineServer {state} validating={'yes' if self.openapi else 'no'}>"


def _make_handler(server: OfflineServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # TCP_NODELAY: no 40 ms wait on the client's delayed ACK
        wbufsize = 1 << 16              # headers and body leave in one write

        def log_message(self, *args):  # quiet: tests and notebooks read the request log instead
            pass

        def do_GET(self):
            self._handle()

        def do_POST(self):
            self._handle()

        def do_DELETE(self):
            self._handle()

        def _handle(self):
            self.limit_headers = server.limits.peek()
            path, query = split_query(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body, files = read_body(self.headers.get("Content-Type"), raw)
            except BadBody as e:
                return self._error(400, str(e), entry=self._log(None))
            entry = self._log(body, files)
            if server.latency and self._client_left(server.latency):
                entry.status = CLIENT_LEFT  # as OpenAI does, the work of a client that hung up stops unanswered
                self.close_connection = True
                return
            azure = translate_azure(path, query, body)
            if azure is not None:
                if azure.error:
                    return self._error(400, azure.error, entry=entry)
                path, body = azure.path, azure.body
            match = server.router.match(self.command, path)
            if match.route is None:
                return self._error(404, f"Invalid URL ({self.command} {path})", code="unknown_url", entry=entry)
            try:
                validator = server.validator
                violation = validator.violation(match.route.path, body, self.command,
                                                media_type(self.headers.get("Content-Type")), files) if validator else None
            except RuntimeError as e:
                return self._error(500, f"The offline server failed: {e}", entry=entry)
            if violation:
                return self._error(400, f"Invalid request body: {violation}", entry=entry)
            has_key = self.headers.get("Authorization", "").startswith("Bearer ") or (
                azure is not None and self.headers.get("api-key"))
            if not has_key:
                return self._error(401, "You didn't provide an API key.", entry=entry)
            unknown = None if azure is not None else unknown_model(server.state, match.route.path, body)
            if unknown is not None:  # a deployment is named as its owner likes: Azure requests are not checked
                return self._error(unknown.status, str(unknown), code=unknown.code, entry=entry)
            verdict = server.limits.take(estimate_tokens(raw, body) if isinstance(body, dict) else 0)
            self.limit_headers = verdict.headers
            if verdict.retry_after is not None:
                return self._fault(Fault(status=429, retry_after=verdict.retry_after), entry)
            streaming = isinstance(body, dict) and bool(body.get("stream"))
            fault = server.faults.take(path, streaming, body.get("service_tier") if isinstance(body, dict) else None)
            if fault and (fault.status or fault.kind == HANG):
                return self._fault(fault, entry)
            if not server.stream_usage and isinstance(body, dict):
                body = {**body, "stream_options": None}
            quirky = bool(server.quirks) and bool(quirk_hooks.endpoint(path)) and isinstance(body, dict)
            if quirky:
                refused = quirk_hooks.refusal(server.quirks, path, body)
                if refused:
                    return self._json(*refused, entry, quirk_hooks.error_headers(server.quirks))
                body = quirk_hooks.before(server.quirks, path, body)
            request = Request(self.command, path, match.params, query, body, files,
                              media_type(self.headers.get("Content-Type")), raw)
            try:
                result = match.route.handler(server.state, request)
                if quirky:
                    result = quirk_hooks.after(server.quirks, path, body, result)
            except RequestError as e:
                return self._error(e.status, str(e), code=e.code, param=e.param, entry=entry)
            except Exception as e:  # a bug in an endpoint: a 500 that says so, not a dropped connection
                return self._error(500, f"The offline server failed: {type(e).__name__}: {e}", entry=entry)
            if isinstance(result, dict):
                return self._json(200, result, entry)
            if isinstance(result, Binary):
                return self._send(200, result.content_type, result.data, entry, result.headers)
            self._stream(result, fault, entry)

        def _client_left(self, seconds: float) -> bool:
            """Wait `seconds`, or until the client hangs up (True)."""
            import select
            import socket

            until = time.monotonic() + seconds
            readable, _, _ = select.select([self.connection], [], [], seconds)
            if not readable:
                return False
            try:
                left = not self.connection.recv(1, socket.MSG_PEEK)
            except OSError:
                left = True
            if not left:  # bytes, not a hang-up: wait out the latency
                time.sleep(max(0.0, until - time.monotonic()))
            return left

        # -- responses --
        def _log(self, body, files=None):
            entry = LoggedRequest(self.command, self.path, body, files=files or {})
            with server.state.lock:
                server.state.log.append(entry)
            return entry

        def _send(self, status: int, content_type: str, data: bytes, entry=None, headers: dict | None = None):
            if entry is not None:  # before answering, so a client that reads the log sees it at once
                entry.status = status
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", "req_offline")
            for name, value in {**self.limit_headers, **(headers or {})}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

        def _json(self, status: int, payload: dict, entry=None, headers: dict | None = None):
            self._send(status, "application/json", json.dumps(payload).encode(), entry, headers)

        def _error(self, status, message, code=None, param=None, entry=None):
            fault = Fault(status=status, code=code, message=message)
            body = fault.error_body()
            body["error"]["param"] = param
            self._json(status, body, entry)

        def _fault(self, fault: Fault, entry):
            if fault.kind == HANG:
                return self._hang(fault, entry)
            if fault.kind == HTML_ERROR:
                page = HTML_PAGE.format(status=fault.status).encode()
                return self._send(fault.status, "text/html", page, entry)
            if fault.kind == NOT_JSON_BODY:
                return self._send(200, "application/json", NOT_JSON.encode(), entry)
            headers = {}
            if fault.retry_after is not None:
                headers = {"retry-after": f"{fault.retry_after:.3g}",
                           "retry-after-ms": str(int(fault.retry_after * 1000))}
            self._json(fault.status, fault.error_body(), entry, headers)

        def _hang(self, fault: Fault, entry):
            server._released.wait(fault.hang_seconds)
            self.close_connection = True  # nothing was answered: the connection just closes

        def _stream(self, events: Iterator[dict], fault: Fault | None, entry):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache")
            for name, value in self.limit_headers.items():
                self.send_header(name, value)
            entry.status = 200
            self.end_headers()
            self.wfile.flush()
            cut_after = fault.cut_after if fault else None
            if fault and fault.kind == STREAM_ERROR:
                events = error_at_the_end(events, fault)
            try:
                n = -1
                for n, event in enumerate(events):
                    if cut_after is not None and n >= cut_after:
                        if fault.kind == BAD_STREAM:
                            self._chunk(BROKEN_EVENT)
                            break
                        self.close_connection = True
                        return self.wfile.flush()  # no terminating chunk: the connection just drops
                    if server.chunk_delay:
                        time.sleep(server.chunk_delay)
                    self._chunk(_sse(event))
                if n >= 0:  # an empty stream ends without [DONE], as llama.cpp's does
                    self._chunk(b"data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client went away (an interrupted cell)
            except Exception as e:  # a bug in an endpoint mid-stream: an error event that says so, no traceback
                message = f"The offline server failed: {type(e).__name__}: {e}"
                self._chunk(_sse({"error": {"message": message, "type": "server_error", "code": None}}))
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        def _chunk(self, data: bytes):
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


def _sse(event: dict) -> bytes:
    prefix = f"event: {event['type']}\n" if "type" in event else ""
    return f"{prefix}data: {json.dumps(event)}\n\n".encode()
