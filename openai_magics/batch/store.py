"""Submitted batches on disk, so results can be collected after a kernel restart.

One JSON file per batch under the user's cache folder (`$XDG_CACHE_HOME/openai-magics/batches`, or
`$OPENAI_MAGICS_BATCH_DIR`): its id, endpoint, model, the custom ids in input order, the input's name,
row labels and template. Nothing secret: no key, no prompt beyond the template.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from openai_magics.core.kept import RecordFolder, read_record, save_record

DIR_ENV = "OPENAI_MAGICS_BATCH_DIR"


SUBMITTED = RecordFolder("batches", DIR_ENV)


def folder() -> Path:
    return SUBMITTED.path


@dataclass
class Submitted:
    id: str
    endpoint: str
    model: str
    custom_ids: list[str]              # in input order, one per row (identical rows share one)
    name: str = ""                     # the input's name (`--over NAME`)
    labels: list = field(default_factory=list)
    template: str | None = None
    parsed: bool = False               # answers are JSON objects (--schema / --json)

    def save(self) -> Path:
        return SUBMITTED.save(self.id, asdict(self), default=_plain)


def load(batch_id: str) -> Submitted | None:
    return SUBMITTED.load(batch_id, Submitted)


def known() -> list[str]:
    return SUBMITTED.ids()


def _plain(value):
    """numpy and pandas scalars (a DataFrame's index labels) as the Python values they hold."""
    return value.item() if hasattr(value, "item") else str(value)


@dataclass
class Job:
    """A batch too big for one file, as shards: the manifest `%openai batch resume` carries over a restart.

    Kept in `folder()/jobs/ID/` beside each shard's JSONL (its request bodies, so a shard not yet submitted
    can be after a restart). `custom_ids` are the rows in input order (identical rows share one)."""

    id: str
    endpoint: str
    model: str
    custom_ids: list[str]
    shards: list[dict]                 # {"file", "lines", "bytes", "tokens", "batch" (id once accepted),
                                       #  "recorded" (its answers are in the ledger)}
    name: str = ""
    labels: list = field(default_factory=list)
    template: str | None = None
    parsed: bool = False
    retried: list[str] = field(default_factory=list)  # custom ids asked again, alone, after failing once
    retry_batch: str | None = None
    retry_recorded: bool = False       # the retry's answers are in the ledger (a shard's: its "recorded")
    retry_answered: int = 0
    unreadable: int = 0                # lines of the batches' files not readable
    collected: bool = False

    @property
    def home(self) -> Path:
        return folder() / "jobs" / self.id

    def save(self) -> Path:
        return save_record(self.home / "manifest.json", vars(self), default=_plain)  # asdict would copy every id


def load_job(job_id: str) -> Job | None:
    return None if "/" in job_id else read_record(folder() / "jobs" / job_id / "manifest.json", Job)


def unfinished_jobs() -> list[str]:
    """Jobs not yet collected, oldest first."""
    jobs = folder() / "jobs"
    found = [load_job(p.name) for p in sorted(jobs.iterdir(), key=lambda p: p.stat().st_mtime)] \
        if jobs.is_dir() else []
    return [job.id for job in found if job is not None and not job.collected]
