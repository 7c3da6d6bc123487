"""An OpenAI-compatible HTTP server on 127.0.0.1 that answers deterministically (SPEC §9).

Real HTTP, real SSE: the openai SDK talks to it exactly as it talks to OpenAI. It logs every request
(without headers, so never a key), can validate bodies against OpenAI's OpenAPI document, and injects
faults on demand.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from openai_magics.offline import quirks as quirk_hooks
from openai_magics.offline.api import chat, embeddings
from openai_magics.offline.api.answers import PromptCache
from openai_magics.offline.api.errors import RequestError
from openai_magics.offline.faults import Fault, FaultQueue

OPENAPI_ENV = "OPENAI_MAGICS_OPENAPI"
MODELS = ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-5-mini", "o4-mini", "o3-mini",
          "text-embedding-3-small", "text-embedding-3-large"]

POST_ROUTES = {
    "/v1/chat/completions": chat.chat_completion,
    "/v1/responses": chat.response,
    "/v1/embeddings": embeddings.embeddings,
}


@dataclass
class LoggedRequest:
    method: str
    path: str
    body: dict | None
    status: int = 0


@dataclass
class ServerState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    prompt_cache: PromptCache = field(default_factory=PromptCache)
    responses: dict = field(default_factory=dict)
    log: list[LoggedRequest] = field(default_factory=list)


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
                 quirks=()):
        self.openapi = Path(openapi) if openapi else None
        self.default_quirks = quirk_hooks.expand(quirks)
        self.quirks = self.default_quirks  # behave like a real compatible server (see offline/quirks.py)
        self.latency = latency          # seconds added before every response
        self.chunk_delay = chunk_delay  # seconds between streamed chunks
        self.stream_usage = True        # False: behave like the many compatible servers that never send it
        self.faults = FaultQueue()
        self.state = ServerState()
        self._validator = None
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle --
    def start(self) -> "OfflineServer":
        if self.openapi:
            from openai_magics.offline.validation import load_validator

            self._validator = load_validator(str(self.openapi))
        self._httpd = _QuietServer(("127.0.0.1", 0), _make_handler(self))
        threading.Thread(target=self._httpd.serve_forever, name="openai-magics-offline", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

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
        return self.faults.add(Fault(status=status, code=code, message=message, retry_after=retry_after,
                                     path=path, times=times))

    def cut_stream(self, after_chunks: int, *, times: int = 1, path: str | None = None) -> Fault:
        """The next streamed response stops after this many chunks, without its end."""
        return self.faults.add(Fault(cut_after=after_chunks, path=path, times=times))

    def reset(self) -> None:
        self.faults.clear()
        self.latency = self.chunk_delay = 0.0
        self.stream_usage = True
        self.quirks = self.default_quirks
        self.clear_log()

    def behave_like(self, *names: str) -> frozenset[str]:
        """Take on these quirks or profiles (until `reset()`), e.g. `behave_like("llama.cpp")`."""
        self.quirks = quirk_hooks.expand(names)
        return self.quirks

    def __repr__(self) -> str:
        state = self.base_url if self.running else "stopped"
        return f"<OfflineServer {state} validating={'yes' if self._validator else 'no'}>"


def _make_handler(server: OfflineServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet: tests and notebooks read the request log instead
            pass

        def do_GET(self):
            self._log(None)
            if self.path.rstrip("/") == "/v1/models":
                served = quirk_hooks.served_models(server.quirks, MODELS)
                return self._json(200, {"object": "list", "data": [_model(m) for m in served]})
            if self.path.startswith("/v1/models/"):
                return self._json(200, _model(self.path.rsplit("/", 1)[1]))
            self._json(404, {"error": {"message": f"Unknown path {self.path}", "type": "invalid_request_error",
                                       "param": None, "code": "unknown_url"}})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                return self._error(400, "We could not parse the JSON body of your request.")
            entry = self._log(body)
            if server.latency:
                time.sleep(server.latency)
            handler = POST_ROUTES.get(self.path.split("?")[0])
            if handler is None:
                return self._error(404, f"Unknown path {self.path}", code="unknown_url", entry=entry)
            if server._validator:
                violation = server._validator.violation(self.path[len("/v1"):].split("?")[0], body)
                if violation:
                    return self._error(400, f"Invalid request body: {violation}", entry=entry)
            if not self.headers.get("Authorization", "").startswith("Bearer "):
                return self._error(401, "You didn't provide an API key.", entry=entry)
            fault = server.faults.take(self.path, bool(body.get("stream")))
            if fault and fault.status:
                return self._fault(fault, entry)
            refused = quirk_hooks.refusal(server.quirks, self.path, body)
            if refused:
                return self._json(*refused, entry)
            if not server.stream_usage:
                body = {**body, "stream_options": None}
            asked = quirk_hooks.before(server.quirks, self.path, body)
            try:
                result = quirk_hooks.after(server.quirks, self.path, asked, handler(server.state, asked))
            except RequestError as e:
                return self._error(400, str(e), code=e.code, param=e.param, entry=entry)
            if isinstance(result, dict):
                return self._json(200, result, entry)
            self._stream(result, fault.cut_after if fault else None, entry)

        # -- responses --
        def _log(self, body):
            entry = LoggedRequest(self.command, self.path, body)
            with server.state.lock:
                server.state.log.append(entry)
            return entry

        def _json(self, status: int, payload: dict, entry=None, headers: dict | None = None):
            if entry is not None:  # before answering, so a client that reads the log sees it at once
                entry.status = status
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", "req_offline")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status, message, code=None, param=None, entry=None):
            fault = Fault(status=status, code=code, message=message)
            body = fault.error_body()
            body["error"]["param"] = param
            self._json(status, body, entry)

        def _fault(self, fault: Fault, entry):
            headers = {}
            if fault.retry_after is not None:
                headers = {"retry-after": f"{fault.retry_after:g}",
                           "retry-after-ms": str(int(fault.retry_after * 1000))}
            self._json(fault.status, fault.error_body(), entry, headers)

        def _stream(self, events, cut_after: int | None, entry):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache")
            entry.status = 200
            self.end_headers()
            try:
                n = -1
                for n, event in enumerate(events):
                    if cut_after is not None and n >= cut_after:
                        self.close_connection = True
                        return self.wfile.flush()  # no terminating chunk: the connection just drops
                    if server.chunk_delay:
                        time.sleep(server.chunk_delay)
                    self._chunk(_sse(event))
                if n >= 0:  # an empty stream ends without [DONE], as llama.cpp's does
                    self._chunk(b"data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client went away (an interrupted cell)

        def _chunk(self, data: bytes):
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


def _sse(event: dict) -> bytes:
    prefix = f"event: {event['type']}\n" if "sequence_number" in event else ""
    return f"{prefix}data: {json.dumps(event)}\n\n".encode()


def _model(name: str) -> dict:
    return {"id": name, "object": "model", "created": 1700000000, "owned_by": "openai-magics-offline"}
