"""Submit a batch (upload the JSONL to /files, create it), follow it, and collect its results aligned
with the input, each answer a ledger row at the batch rate."""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

from openai_magics.batch.request import BatchRequest
from openai_magics.batch.store import Submitted, load
from openai_magics.core.errors import CallFailed, UsageError
from openai_magics.metering.usage import Usage
from openai_magics.views.progress import NoRowProgress, Tally
from openai_magics.views.row_results import RowError, RowResults

TERMINAL = ("completed", "failed", "expired", "cancelled")
STATUSES = ("validating", "in_progress", "finalizing", "cancelling", *TERMINAL)
FIRST_POLL, LONGEST_POLL = 0.05, 10.0


@dataclass
class BatchInfo:
    """A batch's state, as `%openai batch status ID` and `--no-wait` show it."""

    id: str
    status: str
    total: int = 0
    completed: int = 0
    failed: int = 0
    endpoint: str = ""
    note: str = ""

    @classmethod
    def of(cls, batch, note: str = "") -> "BatchInfo":
        """The state of a server's batch object; CallFailed when it is not one (no id, no known status)."""
        batch_id, status = getattr(batch, "id", None), getattr(batch, "status", None)
        if not isinstance(batch_id, str) or not batch_id or status not in STATUSES:
            raise CallFailed(f"The server's batch is not one (id {batch_id!r:.40}, status {status!r:.40}).")
        counts = getattr(batch, "request_counts", None)
        endpoint = getattr(batch, "endpoint", "")
        return cls(batch_id, status, _count(counts, "total"), _count(counts, "completed"), _count(counts, "failed"),
                   endpoint if isinstance(endpoint, str) else "", note)

    def __str__(self) -> str:
        line = f"batch {self.id} · {self.status} · {self.completed:,}/{self.total:,} done"
        if self.failed:
            line += f" · {self.failed:,} failed"
        return line + (f" · {self.note}" if self.note else "")

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))


@dataclass
class Collected:
    """Batches whose results this session already put in the ledger (collected twice, paid once)."""

    ids: set = field(default_factory=set)


def submit(session, request: BatchRequest, progress=None, submitted: Submitted | None = None):
    """Upload and create the batch; with `request.wait`, follow it and return its results."""
    with session.api_errors(request.model):
        uploaded = session.client.files.create(file=("batch.jsonl", request.jsonl(), "application/jsonl"),
                                               purpose="batch")
        batch = session.client.batches.create(input_file_id=uploaded.id, endpoint=request.endpoint,
                                              completion_window="24h")
    _check_id(batch.id)
    record = submitted or Submitted(batch.id, request.endpoint, request.model, [])
    record.id, record.custom_ids = batch.id, list(request.order)
    record.name, record.labels = record.name or request.name, record.labels or list(request.labels)
    record.template, record.parsed = record.template or request.template, record.parsed or request.parsed
    record.save()
    if not request.wait:
        return BatchInfo.of(batch, f"`%openai batch results {batch.id}` collects it (also after a restart)")
    return follow_and_collect(session, batch.id, progress)


def follow_and_collect(session, batch_id: str, progress=None):
    """Follow the batch in the progress view until it ends; then its results. An interrupt stops only the
    following: the batch runs on, and `%openai batch results ID` collects it later."""
    try:
        batch = follow(session, batch_id, progress or NoRowProgress())
    except KeyboardInterrupt:
        return BatchInfo(batch_id, "still running", note="no longer followed; "
                         f"`%openai batch results {batch_id}` collects it when done")
    return collect(session, batch_id, batch)


def follow(session, batch_id: str, progress):
    from openai_magics.core.follow import follow_job

    tally = Tally(total=0, priced=False)

    def show(batch) -> None:
        counts = batch.request_counts
        tally.total = getattr(counts, "total", 0) or 0
        tally.done, tally.failed = getattr(counts, "completed", 0) or 0, getattr(counts, "failed", 0) or 0
        tally.status = batch.status
        progress.update(force=True)

    progress.start(tally)
    try:
        return follow_job(lambda: retrieve(session, batch_id), lambda batch: batch.status in TERMINAL, show,
                          first_wait=FIRST_POLL, longest_wait=LONGEST_POLL)
    finally:
        progress.finish()


def retrieve(session, batch_id: str):
    _check_id(batch_id)
    with _known(batch_id), session.api_errors():
        return session.client.batches.retrieve(batch_id)


def cancel(session, batch_id: str) -> BatchInfo:
    _check_id(batch_id)
    with _known(batch_id), session.api_errors():
        batch = session.client.batches.cancel(batch_id)
    return BatchInfo.of(batch, "what finished before the cancel can still be collected")


def listing(session, limit: int = 20) -> tuple[list[BatchInfo], bool, int]:
    """The `limit` most recent batches (the SDK turns the pages), whether there are more, and how many entries
    of the server's list were not batches (left out, not shown as `batch 5 · None`)."""
    from itertools import islice

    with session.api_errors():
        batches = list(islice(session.client.batches.list(limit=min(limit + 1, 100)), limit + 1))
    found, malformed = [], 0
    for entry in batches[:limit]:
        try:
            found.append(BatchInfo.of(entry))
        except CallFailed:
            malformed += 1
    return found, len(batches) > limit, malformed


def collect(session, batch_id: str, batch=None) -> RowResults:
    """The batch's answers aligned with its input (from the store on disk; else in custom-id order)."""
    batch = batch or retrieve(session, batch_id)
    if batch.status not in TERMINAL and batch.status != "cancelling":
        raise UsageError(f"Batch {batch_id} is {batch.status} ({_counts(batch)}): its results are not ready. "
                         f"`%openai batch status {batch_id}` says how far it is.")
    output, unreadable = _download(session, batch.output_file_id)
    errors, unreadable_errors = _download(session, batch.error_file_id)
    by_id = {line["custom_id"]: line for line in output + errors}
    submitted = load(batch_id) or Submitted(batch_id, batch.endpoint, "", sorted(by_id))
    if batch.status == "failed" and not by_id:
        raise CallFailed(f"Batch {batch_id} failed before running any request: {_why_failed(session, batch)}")
    record_them = batch_id not in session.part(Collected).ids
    values, records, model, at = {}, [], submitted.model, datetime.now(timezone.utc)
    missing = RowError(_missing(session, batch))
    for custom_id in dict.fromkeys(submitted.custom_ids):
        line = by_id.get(custom_id)
        value, record = _row(session, line, batch.endpoint, submitted.parsed, record_them, at) if line else \
            (missing, None)
        values[custom_id] = value
        model = model or (record.model if record else "")
        if record is not None:
            records.append(record)
    strays = [line for custom_id, line in by_id.items() if custom_id not in values]
    for line in strays if record_them else ():  # answers to requests we never sent are still billed
        record = _row(session, line, batch.endpoint, False, True, at)[1]
        if record is not None:
            records.append(record)
    session.part(Collected).ids.add(batch_id)
    labels = submitted.labels or list(range(len(submitted.custom_ids)))
    return RowResults(submitted.name or batch_id, labels, [values[c] for c in submitted.custom_ids], model=model,
                      records=records, batch_id=batch_id, asked=len(values),
                      notes=_oddities(len(strays), unreadable + unreadable_errors))


def _download(session, file_id: str | None) -> tuple[list[dict], int]:
    """The file's lines (each redacted: a server may echo the request's headers), and how many were unreadable."""
    lines = list(each_line(session, file_id))
    return [line for line in lines if line is not None], lines.count(None)


def each_line(session, file_id: str | None):
    """The file's lines one at a time, redacted and parsed (None for a line that is not a batch line), so a
    caller keeps only what it needs of each."""
    if not file_id:
        return
    with session.api_errors():
        data = session.client.files.content(file_id).content
    for text in session.redact(data.decode("utf-8", "replace")).splitlines():
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError:
            line = None
        yield line if isinstance(line, dict) and isinstance(line.get("custom_id"), str) else None


def _oddities(strays: int, unreadable: int) -> list[str]:
    notes = []
    if strays:
        notes.append(f"{strays:,} answer{'s' * (strays != 1)} to requests not sent from here "
                     "(unknown custom_id), recorded in the ledger")
    if unreadable:
        notes.append(f"{unreadable:,} line{'s' * (unreadable != 1)} of the batch's files not readable (skipped)")
    return notes


def _missing(session, batch) -> str:
    """Why a row has no line in the batch's files, by how the batch ended."""
    if batch.status == "completed":
        return "no result: missing from the completed batch's output and error files"
    if batch.status == "failed":
        return f"no result: the batch failed ({_why_failed(session, batch)})"
    return f"no result: the batch ended ({batch.status}) before this request ran"


def _why_failed(session, batch) -> str:
    """What the server said about a failed batch (its errors.data), redacted, in one line."""
    errors = getattr(getattr(batch, "errors", None), "data", None) or []
    said = []
    for error in errors[:3]:
        message, line = getattr(error, "message", None), getattr(error, "line", None)
        if isinstance(message, str) and message.strip():
            said.append((f"line {line}: " if isinstance(line, int) else "") + " ".join(message.split())[:200])
    if not said:
        return "the server gave no reason."
    more = f" (and {len(errors) - 3:,} more)" if len(errors) > 3 else ""
    return session.redact("; ".join(said)) + more


def _row(session, line: dict, endpoint: str, parsed: bool, record_it: bool, at=None):
    """One row's value (answer or RowError) and its ledger record (None when nothing was paid), priced at
    `at` (one moment for a whole batch: its rows' prices are then computed once per distinct usage)."""
    response = line.get("response") if isinstance(line.get("response"), dict) else {}
    body = response.get("body") if isinstance(response.get("body"), dict) else {}
    status = response.get("status_code")
    if line.get("error") or status != 200:
        error = line.get("error") or body.get("error") or {}
        message = error.get("message") if isinstance(error, dict) else str(error)
        return RowError(f"{status or 'error'}: {message or 'the request failed'}"), None
    usage, answer = _read(body, endpoint)
    record = None
    if record_it:
        model = body.get("model") if isinstance(body.get("model"), str) else ""
        call = session.begin("batch")
        call.at = at or call.at
        call.record(model, usage or Usage(), estimated=usage is None, batch=True, latency=0.0)
        if answer is None:
            call.mark_unreadable()
        record = call.recorded
    if answer is None:
        return RowError("the answer is not in a shape this client reads"), record
    if parsed:
        try:
            return json.loads(answer), record
        except ValueError:
            return RowError("the answer is not valid JSON"), record
    return answer, record


def _read(body: dict, endpoint: str):
    """(usage, answer) of one response body: text for chat and responses, a vector for embeddings."""
    usage = body.get("usage")
    if endpoint.endswith("/embeddings"):
        data = body.get("data")
        vector = data[0].get("embedding") if isinstance(data, list) and data and isinstance(data[0], dict) else None
        return (Usage.from_embeddings(usage) if isinstance(usage, dict) else None), vector
    if endpoint.endswith("/responses"):
        texts = [c.get("text", "") for item in body.get("output") or [] if isinstance(item, dict)
                 for c in item.get("content") or [] if isinstance(c, dict) and c.get("type") == "output_text"]
        return (Usage.from_responses(usage, body.get("service_tier")) if isinstance(usage, dict) else None), \
            "".join(texts) or None
    choices = body.get("choices")
    message = choices[0].get("message") if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    return (Usage.from_chat(usage, body.get("service_tier")) if isinstance(usage, dict) else None), \
        content if isinstance(content, str) else None


def _count(counts, name: str) -> int:
    value = getattr(counts, name, 0)
    return value if isinstance(value, int) and value >= 0 else 0


def _counts(batch) -> str:
    counts = batch.request_counts
    return f"{getattr(counts, 'completed', 0) or 0:,}/{getattr(counts, 'total', 0) or 0:,} done"


@contextmanager
def _known(batch_id: str):
    """A 404 on a batch says which batch, not which model."""
    try:
        yield
    except CallFailed as exc:
        if exc.status != 404:
            raise
        raise CallFailed(f"No batch {batch_id} on this endpoint: `%openai batch list` shows its batches.",
                         status=404) from None


def _check_id(batch_id) -> None:
    if not isinstance(batch_id, str) or not batch_id.strip() or "/" in batch_id:
        raise UsageError(f"Not a batch id: {batch_id!r}.")
