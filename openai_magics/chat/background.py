"""`%%chat --background`: the Responses API runs the request on OpenAI's side (`background: true`). The cell
returns at once with the response id; `%openai background collect ID` fetches the answer later, also after a
kernel restart (the ids are kept on disk, as batches are), and `cancel ID` stops it. The answer is priced and
recorded once, when it is first collected: collecting it again shows it without a second charge.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from openai_magics.core.kept import RecordFolder

from openai_magics.chat.request import ChatRequest, build_body
from openai_magics.chat.result import ChatResult
from openai_magics.facts.tokens import count_text
from openai_magics.metering.usage import Usage
from openai_magics.views.markup import usage_sub
from openai_magics.core.errors import CallFailed

DIR_ENV = "OPENAI_MAGICS_BACKGROUND_DIR"
RUNNING = ("queued", "in_progress")
ENDED = ("completed", "incomplete", "failed", "cancelled")
FIRST_POLL, LONGEST_POLL = 0.2, 10.0  # seconds between status checks while collecting: doubling up to the most


STARTED = RecordFolder("background", DIR_ENV)


@dataclass
class Started:
    """A background response on disk: no key, no prompt beyond its start."""

    id: str
    model: str
    preview: str = ""
    recorded: bool = False             # priced and in a ledger already: never recorded twice

    def save(self) -> None:
        STARTED.save(self.id, asdict(self))


def load(response_id: str) -> Started | None:
    return STARTED.load(response_id, Started)


def known() -> list[Started]:
    found = [load(response_id) for response_id in STARTED.ids()]
    return [s for s in found if s is not None]


@dataclass
class BackgroundRun:
    """What a background response is now: its id and status, and its answer once completed."""

    id: str
    model: str
    status: str
    answer: ChatResult | None = None
    notes: list = field(default_factory=list)

    @property
    def line(self) -> str:
        hint = (f"`%openai background collect {self.id}` fetches the answer" if self.status in RUNNING
                else f"`%openai background collect {self.id}`" if self.answer is None else "")
        return " · ".join(p for p in (f"background response {self.id}", self.model, self.status, *self.notes, hint) if p)

    def _repr_markdown_(self) -> str:
        if self.answer is None:
            return usage_sub(self.line)
        return f"{self.answer._repr_markdown_()}\n\n{usage_sub(self.line)}"

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self.line if self.answer is None else f"{self.answer.text}\n\n{self.answer.usage_line}\n{self.line}")


def start(session, request: ChatRequest, messages: list[dict]) -> BackgroundRun:
    """Send the request to run in the background; its id goes on disk before the cell returns."""
    max_out = request.max_tokens or session.config.max_tokens
    body = build_body(request, messages, api="responses", max_out=max_out, endpoint=session.config)
    session.require_key()
    with session.api_errors(request.model):
        response = session.client.responses.create(**body)
    rid, status = _checked(response)
    Started(rid, request.model, " ".join(request.prompt.split())[:60]).save()
    return BackgroundRun(rid, getattr(response, "model", None) or request.model, status)


def status(session, response_id: str) -> BackgroundRun:
    """Where the response is now; nothing fetched into the ledger."""
    response = _retrieve(session, response_id)
    return BackgroundRun(response.id, getattr(response, "model", None) or "", response.status)


def collect(session, response_id: str, *, on_status=None) -> BackgroundRun:
    """The response, waited for while it runs; its answer recorded once, when first collected."""
    pause = FIRST_POLL
    while True:
        response = _retrieve(session, response_id)
        if on_status is not None:
            on_status(response.status)
        if response.status not in RUNNING:
            break
        time.sleep(pause)
        pause = min(pause * 2, LONGEST_POLL)
    rid, status = response.id, response.status
    started = load(rid) or Started(rid, getattr(response, "model", "") or "")
    run = BackgroundRun(rid, getattr(response, "model", None) or started.model, status)
    if status == "cancelled" and not getattr(response, "usage", None):
        return run
    run.answer = _answer(session, response, started)
    if started.recorded and run.answer.record is None:
        run.notes.append("recorded in the ledger when first collected (not charged again)")
    return run


def cancel(session, response_id: str) -> BackgroundRun:
    with session.api_errors():
        response = session.client.responses.cancel(response_id)
    rid, status = _checked(response, response_id)
    return BackgroundRun(rid, getattr(response, "model", None) or "", status)


def _retrieve(session, response_id: str):
    with session.api_errors():
        response = session.client.responses.retrieve(response_id)
    _checked(response, response_id)
    return response


def _answer(session, response, started: Started) -> ChatResult:
    from openai_magics.chat.responses import _text

    text = _text(response)
    record = None
    if not started.recorded:
        usage = Usage.from_responses(response.usage, response.service_tier) if response.usage else None
        estimated = usage is None
        if usage is None:
            usage = Usage(output_tokens=count_text(text, response.model or started.model).tokens)
        record = session.begin("chat").record(response.model or started.model, usage, estimated=estimated)
        started.recorded = True
        started.save()
    incomplete = None if response.status == "completed" else f"the background response is {response.status}"
    return ChatResult(text=text, model=response.model or started.model, requested_model=started.model,
                      record=record, api="responses", response_id=response.id, incomplete=incomplete,
                      finish_reason="stop" if response.status == "completed" else "length")


def _checked(response, asked: str | None = None) -> tuple[str, str]:
    """The answer's id and status, or one line when it is not a background response's."""
    rid, status = getattr(response, "id", None), getattr(response, "status", None)
    if not isinstance(rid, str) or not rid or (asked is not None and rid != asked):
        raise CallFailed(f"The server's answer names no response{f' {asked}' if asked else ''} (id {rid!r}); "
                         "nothing was recorded.")
    if status not in RUNNING + ENDED:
        raise CallFailed(f"The server says response {rid} is {status!r}, not a status a response has; nothing was "
                         "recorded.")
    return rid, status
