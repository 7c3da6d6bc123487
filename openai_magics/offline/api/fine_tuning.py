"""`/fine_tuning/jobs`: create, retrieve, list, cancel, events and checkpoints, on a clock of its own.

A job moves validating_files → queued → running → succeeded, one stage every `stage_seconds` (short, so
notebooks and tests wait little; `OPENAI_MAGICS_OFFLINE_FT_SECONDS` or `state.part(FineTuning).stage_seconds`
sets it). Its state is worked out from the time when it is read. The training loss falls smoothly and
deterministically with the step; trained tokens are the training file's tokens times the epochs.
"""
from __future__ import annotations

import itertools
import json
import math
import time
from dataclasses import dataclass
from typing import ClassVar

from openai_magics.facts.models import model_info
from openai_magics.offline.errors import RequestError
from openai_magics.offline.api.staged_jobs import StagedJobs, stage_seconds_from, stages_elapsed
from openai_magics.offline.api.files import Files
from openai_magics.offline.tokens import count_messages
from openai_magics.offline.api.listing import page
from openai_magics.offline.router import Route, collection

_ids = itertools.count(1)
STAGES = ("validating_files", "queued", "running")
DEFAULT_EPOCHS, STEPS_PER_EPOCH = 3, 4
ORGANIZATION = "org-offline"


@dataclass
class TrainingJob:
    id: str
    model: str                       # the dated base snapshot
    training_file: str
    validation_file: str | None
    suffix: str | None
    epochs: int
    trained_tokens: int
    created: float
    cancelled_at: float | None = None
    seed: int = 42

    def elapsed_stages(self, stage_seconds: float, now: float) -> float:
        return stages_elapsed(self.created, self.cancelled_at if self.cancelled_at is not None else now, stage_seconds)

    def status(self, stage_seconds: float, now: float) -> str:
        if self.cancelled_at is not None:
            return "cancelled"
        stage = self.elapsed_stages(stage_seconds, now)
        return STAGES[int(stage)] if stage < len(STAGES) else "succeeded"

    @property
    def total_steps(self) -> int:
        return self.epochs * STEPS_PER_EPOCH

    def steps_done(self, stage_seconds: float, now: float) -> int:
        """Training steps finished so far: they fill the running stage evenly."""
        progress = self.elapsed_stages(stage_seconds, now) - STAGES.index("running")
        return max(0, min(self.total_steps, int(progress * self.total_steps)))

    @property
    def fine_tuned_model(self) -> str:
        return f"ft:{self.model}:{ORGANIZATION}:{self.suffix or ''}:{self.id.removeprefix('ftjob-')}"


def train_loss(step: int) -> float:
    return round(2.2 * math.exp(-step / 5) + 0.35 + 0.05 * math.sin(step), 4)


@dataclass
class FineTuning(StagedJobs):
    """The server's fine-tuning jobs."""

    kind: ClassVar[str] = "fine-tuning job"
    param: ClassVar[str] = "fine_tuning_job_id"
    stage_seconds: float = stage_seconds_from("OPENAI_MAGICS_OFFLINE_FT_SECONDS", 0.5)

    def models(self, now: float | None = None) -> list[str]:
        """The fine-tuned models of the jobs that succeeded."""
        now = time.time() if now is None else now
        with self.lock:
            jobs = list(self.items.values())
        return [j.fine_tuned_model for j in jobs if j.status(self.stage_seconds, now) == "succeeded"]


def as_object(job: TrainingJob, clock: FineTuning, now: float) -> dict:
    status = job.status(clock.stage_seconds, now)
    done = status == "succeeded"
    finished = job.created + len(STAGES) * clock.stage_seconds
    return {
        "id": job.id, "object": "fine_tuning.job", "created_at": int(job.created), "error": None,
        "fine_tuned_model": job.fine_tuned_model if done else None,
        "finished_at": int(finished) if done else None,
        "hyperparameters": {"n_epochs": job.epochs, "batch_size": 1, "learning_rate_multiplier": 1.8},
        "method": {"type": "supervised", "supervised": {"hyperparameters": {
            "n_epochs": job.epochs, "batch_size": 1, "learning_rate_multiplier": 1.8}}},
        "model": job.model, "organization_id": ORGANIZATION,
        "result_files": [], "seed": job.seed, "status": status,
        "trained_tokens": job.trained_tokens if done else None,
        "training_file": job.training_file, "validation_file": job.validation_file,
        "estimated_finish": None if done or status == "cancelled" else int(finished),
        "integrations": [], "metadata": None,
    }


def _examples(data: bytes, param: str) -> list[dict]:
    examples = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            example = json.loads(line)
            assert isinstance(example, dict) and isinstance(example.get("messages"), list)
        except (ValueError, AssertionError):
            raise RequestError(f"Invalid file format: line {number} is not a chat example.",
                               code="invalid_training_file", param=param) from None
        examples.append(example)
    if not examples:
        raise RequestError("Invalid file format: the file holds no examples.", code="invalid_training_file",
                           param=param)
    return examples


def _epochs(body: dict) -> int:
    method = body.get("method") or {}
    chosen = ((method.get(method.get("type") or "supervised") or {}).get("hyperparameters") or {}).get("n_epochs")
    chosen = chosen if chosen is not None else (body.get("hyperparameters") or {}).get("n_epochs")
    if chosen in (None, "auto"):
        return DEFAULT_EPOCHS
    if not isinstance(chosen, int) or not 1 <= chosen <= 50:
        raise RequestError(f"Invalid n_epochs: {chosen!r}; expected an integer from 1 to 50.", param="n_epochs")
    return chosen


def create(state, request) -> dict:
    body = request.body
    base = model_info(request.required("model")).snapshot or body["model"]
    files = state.part(Files)
    training = files.get(request.required("training_file"))
    if training.purpose != "fine-tune":
        raise RequestError(f"File {training.id} was not uploaded for fine-tuning.", param="training_file")
    if body.get("validation_file"):
        _examples(files.content(body["validation_file"]), "validation_file")
    epochs = _epochs(body)
    tokens = sum(count_messages(e["messages"], base) for e in _examples(training.data, "training_file"))
    clock = state.part(FineTuning)
    job = TrainingJob(f"ftjob-offline{next(_ids)}", base, training.id, body.get("validation_file"), body.get("suffix"),
              epochs, tokens * epochs, time.time(), seed=body.get("seed") or 42)
    return as_object(clock.add(job), clock, time.time())


def _page(items: list[dict], request) -> dict:
    data, more = page(items, request)
    return {"object": "list", "data": data, "has_more": more}


def retrieve(state, request) -> dict:
    clock = state.part(FineTuning)
    return as_object(clock.get(request.params["fine_tuning_job_id"]), clock, time.time())


def list_jobs(state, request) -> dict:
    clock, now = state.part(FineTuning), time.time()
    return _page([as_object(j, clock, now) for j in clock.by_creation()], request)


def cancel(state, request) -> dict:
    clock, now = state.part(FineTuning), time.time()
    job = clock.get(request.params["fine_tuning_job_id"])
    if job.status(clock.stage_seconds, now) in ("succeeded", "cancelled"):
        raise RequestError(f"Job {job.id} has already finished and cannot be cancelled.", param="fine_tuning_job_id")
    job.cancelled_at = now
    return as_object(job, clock, now)


def _event(job: TrainingJob, number: int, at: float, message: str, kind: str = "message", data: dict | None = None) -> dict:
    return {"id": f"ftevent-{job.id.removeprefix('ftjob-')}-{number}", "object": "fine_tuning.job.event",
            "created_at": int(at), "level": "info", "message": message, "type": kind, "data": data or {}}


def job_events(job: TrainingJob, clock: FineTuning, now: float) -> list[dict]:
    """What has happened so far, oldest first."""
    t, s = job.created, clock.stage_seconds
    events = [_event(job, 0, t, f"Created fine-tuning job: {job.id}"),
              _event(job, 1, t, f"Validating training file: {job.training_file}")]
    stage = job.elapsed_stages(s, now)
    if stage >= 1:
        events.append(_event(job, 2, t + s, "Files validated, moving job to queued state"))
    if stage >= 2:
        events.append(_event(job, 3, t + 2 * s, f"Fine-tuning job started ({job.total_steps} steps)"))
        for step in range(1, job.steps_done(s, now) + 1):
            loss = train_loss(step)
            events.append(_event(job, 3 + step, t + 2 * s, f"Step {step}/{job.total_steps}: training loss={loss}",
                                 "metrics", {"step": step, "train_loss": loss, "total_steps": job.total_steps}))
    status = job.status(s, now)
    last = 4 + job.total_steps
    if status == "succeeded":
        events.append(_event(job, last, t + 3 * s, f"New fine-tuned model created: {job.fine_tuned_model}"))
        events.append(_event(job, last + 1, t + 3 * s, "The job has successfully completed"))
    elif status == "cancelled":
        events.append(_event(job, last + 2, job.cancelled_at, "Fine-tuning job cancelled"))
    return events


def events(state, request) -> dict:
    clock = state.part(FineTuning)
    job = clock.get(request.params["fine_tuning_job_id"])
    return _page(list(reversed(job_events(job, clock, time.time()))), request)  # newest first, like the API


def checkpoints(state, request) -> dict:
    clock, now = state.part(FineTuning), time.time()
    job = clock.get(request.params["fine_tuning_job_id"])
    found = []
    if job.status(clock.stage_seconds, now) == "succeeded":
        for epoch in range(1, job.epochs + 1):
            step = epoch * STEPS_PER_EPOCH
            found.append({"id": f"ftckpt-{job.id.removeprefix('ftjob-')}-{epoch}",
                          "object": "fine_tuning.job.checkpoint", "created_at": int(job.created),
                          "fine_tuning_job_id": job.id, "step_number": step,
                          "fine_tuned_model_checkpoint": f"{job.fine_tuned_model}:ckpt-step-{step}",
                          "metrics": {"step": step, "train_loss": train_loss(step)}})
    return _page(list(reversed(found)), request)


ROUTES = [
    *collection("/fine_tuning/jobs", "fine_tuning_job_id", create=create, list=list_jobs, retrieve=retrieve),
    Route("POST", "/fine_tuning/jobs/{fine_tuning_job_id}/cancel", cancel),
    Route("GET", "/fine_tuning/jobs/{fine_tuning_job_id}/events", events),
    Route("GET", "/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints", checkpoints),
]
