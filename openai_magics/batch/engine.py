"""Submit a batch (upload the JSONL to /files, create it), follow it, and collect its results aligned
with the input, each answer a ledger row at the batch rate."""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from openai_magics.batch.request import BatchRequest
from openai_magics.batch.store import Submitted, load
from openai_magics.core.errors import CallFailed, UsageError
from openai_magics.core.usage import Usage
from openai_magics.views.progress import NullProgress, Tally
from openai_magics.views.row_results import RowError, RowResults

TERMINAL = ("completed", "failed", "expired", "cancelled")
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
        counts = batch.request_counts
        return cls(batch.id, batch.status, getattr(counts, "total", 0) or 0, getattr(counts, "completed", 0) or 0,
                   getattr(counts, "failed", 0) or 0, batch.endpoint or "", note)

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
        batch = follow(session, batch_id, progress or NullProgress())
    except KeyboardInterrupt:
        return BatchInfo(batch_id, "still running", note="no longer followed; "
                         f"`%openai batch results {batch_id}` collects it when done")
    return collect(session, batch_id, batch)


def follow(session, batch_id: str, progress):
    tally = Tally(total=0, priced=False)
    progress.start(tally)
    pause = FIRST_POLL
    try:
        while True:
            batch = retrieve(session, batch_id)
            counts = batch.request_counts
            tally.total = getattr(counts, "total", 0) or 0
            tally.done, tally.failed = getattr(counts, "completed", 0) or 0, getattr(counts, "failed", 0) or 0
            tally.status = batch.status
            progress.update(force=True)
            if batch.status in TERMINAL:
                return batch
            time.sleep(pause)
            pause = min(pause * 1.5, LONGEST_POLL)
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


def listing(session, limit: int = 20) -> tuple[list[BatchInfo], bool]:
    """The `limit` most recent batches (the SDK turns the pages), and whether there are more."""
    from itertools import islice

    with session.api_errors():
        batches = list(islice(session.client.batches.list(limit=min(limit + 1, 100)), limit + 1))
    return [BatchInfo.of(b) for b in batches[:limit]], len(batches) > limit


def collect(session, batch_id: str, batch=None) -> RowResults:
    """The batch's answers aligned with its input (from the store on disk; else in custom-id order)."""
    batch = batch or retrieve(session, batch_id)
    if batch.status not in TERMINAL and batch.status != "cancelling":
        raise UsageError(f"Batch {batch_id} is {batch.status} ({_counts(batch)}): its results are not ready. "
                         f"`%openai batch status {batch_id}` says how far it is.")
    lines = _download(session, batch.output_file_id) + _download(session, batch.error_file_id)
    by_id = {line["custom_id"]: line for line in lines}
    submitted = load(batch_id) or Submitted(batch_id, batch.endpoint, "", sorted(by_id))
    record_them = batch_id not in session.part(Collected).ids
    values, records, model = {}, [], submitted.model
    for custom_id in dict.fromkeys(submitted.custom_ids):
        line = by_id.get(custom_id)
        value, record = _row(session, line, batch.endpoint, submitted.parsed, record_them)
        values[custom_id] = value
        model = model or (record.model if record else "")
        if record is not None:
            records.append(record)
    session.part(Collected).ids.add(batch_id)
    labels = submitted.labels or list(range(len(submitted.custom_ids)))
    return RowResults(submitted.name or batch_id, labels, [values[c] for c in submitted.custom_ids], model=model,
                      records=records, batch_id=batch_id, asked=len(values))


def _download(session, file_id: str | None) -> list[dict]:
    if not file_id:
        return []
    with session.api_errors():
        data = session.client.files.content(file_id).content
    lines = []
    for text in data.decode("utf-8", "replace").splitlines():
        try:
            line = json.loads(text) if text.strip() else None
        except ValueError:
            raise CallFailed(f"The batch's file {file_id} holds a line that is not JSON ({text[:60]!r}…).") from None
        if isinstance(line, dict) and isinstance(line.get("custom_id"), str):
            lines.append(line)
    return lines


def _row(session, line: dict | None, endpoint: str, parsed: bool, record_it: bool):
    """One row's value (answer or RowError) and its ledger record (None when nothing was paid)."""
    if line is None:
        return RowError("no result: the batch ended (cancelled or expired) before this request ran"), None
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
        record = session.begin("batch").record(model, usage or Usage(), estimated=usage is None, batch=True,
                                               latency=0.0)
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


def submit_rows(session, *, endpoint: str, bodies: list[dict], rows: list[int], name: str = "", labels=(),
                template: str | None = None, parsed: bool = False, wait: bool = True, progress=None):
    """A run over rows as a batch: `bodies` are the distinct requests, `rows[i]` the body row i asks."""
    request = BatchRequest({f"request-{j}": body for j, body in enumerate(bodies)}, endpoint,
                           order=[f"request-{j}" for j in rows], name=name, labels=list(labels), template=template,
                           parsed=parsed, wait=wait)
    return submit(session, request, progress)
