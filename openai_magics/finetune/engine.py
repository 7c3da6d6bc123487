"""Fine-tuning over the API: upload, create, follow, list and cancel jobs; answers checked at the boundary."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from decimal import Decimal

from openai_magics.core.errors import CallFailed
from openai_magics.metering.ledger import UsageRecord
from openai_magics.metering.usage import Usage
from openai_magics.finetune.jobs import JobStore
from openai_magics.finetune.prepare import training_price

STATUSES = ("validating_files", "queued", "running", "succeeded", "failed", "cancelled")
FINISHED = ("succeeded", "failed", "cancelled")


@dataclass
class FineTuneJob:
    id: str
    status: str
    model: str
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    error: str | None = None
    events: list[str] = field(default_factory=list)          # oldest first
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, training loss)
    cost: Decimal | None = None                               # training, once the job reports its tokens

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def _job(session, answer) -> FineTuneJob:
    """A job from the server's answer, or one clear line when it is not one. Its error is the server's text:
    redacted like an API error's (a proxy may echo the request's Authorization header in it)."""
    job_id, status, model = (getattr(answer, k, None) for k in ("id", "status", "model"))
    if not isinstance(job_id, str) or status not in STATUSES or not isinstance(model, str):
        raise CallFailed(f"The server's fine-tuning job is not one (id {job_id!r}, status {status!r}).")
    tokens = getattr(answer, "trained_tokens", None)
    message = getattr(getattr(answer, "error", None), "message", None)
    return FineTuneJob(job_id, status, model, getattr(answer, "fine_tuned_model", None) or None,
               tokens if isinstance(tokens, int) and tokens >= 0 else None,
               session.redact(str(message)) if message else None)


def upload(session, name: str, data: bytes) -> str:
    with session.api_errors():
        answer = session.client.files.create(file=(name, data), purpose="fine-tune")
    if not isinstance(getattr(answer, "id", None), str):
        raise CallFailed("The server's answer to the upload has no file id.")
    return answer.id


def start(session, training: str, model: str, *, suffix=None, epochs=None, validation=None) -> FineTuneJob:
    options = {"suffix": suffix, "validation_file": validation}
    if epochs is not None:
        options["method"] = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": epochs}}}
    with session.api_errors(model):
        answer = session.client.fine_tuning.jobs.create(
            training_file=training, model=model, **{k: v for k, v in options.items() if v is not None})
    job = _job(session, answer)
    JobStore(session.base_url).remember(job.id, model=job.model, suffix=suffix, created=time.time(),
                                       training_file=training)
    return job


def retrieve(session, job_id: str) -> FineTuneJob:
    with session.api_errors():
        job = _job(session, session.client.fine_tuning.jobs.retrieve(job_id))
        page = session.client.fine_tuning.jobs.list_events(job_id, limit=100)
    for event in reversed(list(getattr(page, "data", None) or [])):  # the API sends the newest first
        message, data = getattr(event, "message", None), getattr(event, "data", None) or {}
        if isinstance(message, str):
            job.events.append(session.redact(message))
        if getattr(event, "type", None) == "metrics" and isinstance(data, dict):
            step, loss = data.get("step"), data.get("train_loss")
            if isinstance(step, int) and isinstance(loss, (int, float)) and math.isfinite(loss):  # NaN: no chart
                job.losses.append((step, float(loss)))
    charge_training(session, job)
    return job


def charge_training(session, job: FineTuneJob) -> None:
    """Once a job reports its trained tokens, its training cost goes in the ledger (once per job)."""
    if job.status != "succeeded" or job.trained_tokens is None:
        return
    job.cost = training_price(job.model, job.trained_tokens)
    store = JobStore(session.base_url)
    if store.charged(job.id):
        return
    from openai_magics.core.cell import current_cell

    cell, cell_id = current_cell()
    session.ledger.add(UsageRecord(magic="finetune", model=job.fine_tuned_model or job.model,
                                   usage=Usage(input_tokens=job.trained_tokens), cost=job.cost,
                                   cell=cell, cell_id=cell_id))
    store.remember(job.id, charged=True, fine_tuned_model=job.fine_tuned_model)


def follow(session, job_id: str, show, first_wait: float = 0.5, longest_wait: float = 10.0) -> FineTuneJob:
    """Read the job again until it finishes, showing each reading; an interrupt stops watching, not the job."""
    from openai_magics.core.follow import follow_job

    seen: list[FineTuneJob] = []

    def shown(job: FineTuneJob) -> None:
        seen[:] = [job]
        show(job)

    try:
        return follow_job(lambda: retrieve(session, job_id), lambda job: job.finished, shown,
                          first_wait=first_wait, longest_wait=longest_wait)
    except KeyboardInterrupt:
        if not seen:
            raise
        print(f"Stopped watching {job_id}; the job goes on (`%openai finetune status {job_id}`).")
        return seen[-1]


def list_jobs(session, limit: int = 20) -> list[FineTuneJob]:
    with session.api_errors():
        page = session.client.fine_tuning.jobs.list(limit=limit)
    return [_job(session, answer) for answer in getattr(page, "data", None) or []]


def cancel(session, job_id: str) -> FineTuneJob:
    with session.api_errors():
        return _job(session, session.client.fine_tuning.jobs.cancel(job_id))
