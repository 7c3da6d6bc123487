"""A small HTTP server that misbehaves on purpose, for what the offline server does not do: malformed bodies,
SSE error events that echo the Authorization header, HTML pages, stalls, dropped connections.

Each request is answered by the current `Behaviour` (a function of the request); `seen` keeps what came in,
Authorization header included, so tests can say which key a server received.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    method: str
    path: str
    authorization: str
    body: dict | None


@dataclass
class Answer:
    """What to send back: a status and body (or SSE events), and how to misbehave while doing it."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    events: list[bytes] | None = None   # SSE `data:` payloads (bytes sent as written), streamed in order
    stall_before: bool = False          # take the request, never answer
    stall_after: int | None = None      # stream this many events, then go silent
    drop_after: int | None = None       # stream this many events, then close the connection
    headers: dict = field(default_factory=dict)


class Rogue:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.answers: list = []          # consumed in order; the last one stays
        self.release = threading.Event()  # set to free every stalled handler
        self._httpd = _Quiet(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self._httpd.serve_forever, daemon=True, name="rogue-server").start()

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script(self, *answers) -> None:
        """Answer the next requests with these, in order (the last one keeps answering)."""
        self.release.set()
        self.release = threading.Event()
        self.answers, self.seen = list(answers), []

    def next_answer(self, seen: Seen):
        answer = self.answers[0] if len(self.answers) == 1 else self.answers.pop(0)
        return answer(seen) if callable(answer) else answer

    def stop(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client that gave up and hung up: expected here
        pass


def _handler(rogue: Rogue):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            self._answer(None)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            self._answer(body)

        def _answer(self, body):
            seen = Seen(self.command, self.path, self.headers.get("Authorization", ""), body)
            rogue.seen.append(seen)
            answer = rogue.next_answer(seen)
            release = rogue.release
            if answer.stall_before:
                release.wait(30)
                self.close_connection = True
                return
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if answer.events is None:
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
                return
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for n, event in enumerate(answer.events):
                    if answer.stall_after is not None and n >= answer.stall_after:
                        release.wait(30)
                        self.close_connection = True
                        return
                    if answer.drop_after is not None and n >= answer.drop_after:
                        self.close_connection = True
                        return
                    self._chunk(b"data: " + event + b"\n\n")
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _chunk(self, data: bytes):
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


# -- answers a test picks from --

def json_answer(payload, status: int = 200, **kw) -> Answer:
    return Answer(status=status, body=json.dumps(payload).encode(), **kw)


def chunk(text: str | None = None, *, finish: str | None = None, usage: dict | None = None,
          model: str = "gpt-4o-mini") -> bytes:
    """One Chat Completions stream chunk."""
    choices = [] if text is None and finish is None else [
        {"index": 0, "delta": {"content": text} if text is not None else {}, "finish_reason": finish}]
    return json.dumps({"id": "chatcmpl-rogue", "object": "chat.completion.chunk", "created": 1,
                       "model": model, "choices": choices, "usage": usage}).encode()


def completion(text: str = "Hello.", usage: dict | None = None, model: str = "gpt-4o-mini") -> dict:
    return {"id": "chatcmpl-rogue", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": usage or {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}}


def echo_key_error(seen: Seen) -> Answer:
    """A streamed error event before the first token, echoing the Authorization header (as some proxies do)."""
    message = f"upstream failed for {seen.authorization}"
    return Answer(events=[json.dumps({"error": {"message": message, "type": "server_error"}}).encode()])


def echo_key_json(status: int):
    def answer(seen: Seen) -> Answer:
        return json_answer({"error": {"message": f"bad auth header {seen.authorization}", "type": "x"}}, status)
    return answer


def by_path(routes: dict, otherwise: Answer | None = None):
    """Answers chosen by the request's path: the first key it ends with (query left out), else `otherwise`
    (a 404)."""
    def answer(seen: Seen) -> Answer:
        path = seen.path.split("?")[0]
        for suffix, chosen in routes.items():
            if path.endswith(suffix):
                return chosen(seen) if callable(chosen) else chosen
        return otherwise or json_answer({"error": {"message": f"no route {path}", "type": "invalid_request_error"}},
                                        404)
    return answer


def batch_object(batch_id: str = "batch_rogue1", status: str = "completed", *, output: str | None = "file-out",
                 errors_file: str | None = None, counts=(1, 1, 0), errors: list | None = None, **extra) -> dict:
    """A batch as /batches/{id} answers it (`counts`: total, completed, failed)."""
    total, done, failed = counts
    return {"id": batch_id, "object": "batch", "endpoint": "/v1/chat/completions", "input_file_id": "file-in",
            "completion_window": "24h", "status": status, "output_file_id": output, "error_file_id": errors_file,
            "created_at": 1, "request_counts": {"total": total, "completed": done, "failed": failed},
            "errors": {"object": "list", "data": errors} if errors is not None else None, **extra}


def batch_line(custom_id: str, text: str = "Hello.", *, status: int = 200, error: dict | None = None,
               usage: dict | None = None) -> str:
    """One line of a batch's output (or error) file."""
    body = completion(text, usage) if status == 200 else {"error": error or {"message": "failed"}}
    return json.dumps({"id": f"batch_req_{custom_id}", "custom_id": custom_id,
                       "response": {"status_code": status, "request_id": "req_rogue", "body": body},
                       "error": None})


def finetune_job(job_id: str = "ftjob-rogue", status: str = "failed", error: dict | None = None) -> dict:
    return {"id": job_id, "object": "fine_tuning.job", "status": status, "model": "gpt-4o-mini-2024-07-18",
            "created_at": 1, "fine_tuned_model": None, "trained_tokens": None, "training_file": "file-t",
            "validation_file": None, "result_files": [], "hyperparameters": {"n_epochs": 1},
            "organization_id": "org-rogue", "seed": 1, "error": error}


def finetune_events(*messages: str) -> dict:
    return {"object": "list", "has_more": False,
            "data": [{"id": f"ftevent-{n}", "object": "fine_tuning.job.event", "created_at": 1, "level": "info",
                      "message": message, "type": "message"} for n, message in enumerate(messages)]}
