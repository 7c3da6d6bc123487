"""Submitted batches on disk, so results can be collected after a kernel restart.

One JSON file per batch under the user's cache folder (`$XDG_CACHE_HOME/openai-magics/batches`, or
`$OPENAI_MAGICS_BATCH_DIR`): its id, endpoint, model, the custom ids in input order, the input's name,
row labels and template. Nothing secret: no key, no prompt beyond the template.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from openai_magics.core.config import user_folder

DIR_ENV = "OPENAI_MAGICS_BATCH_DIR"


def folder() -> Path:
    return user_folder("batches", DIR_ENV)


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
        path = folder() / f"{self.id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), default=_plain))
        return path


def load(batch_id: str) -> Submitted | None:
    return _read(folder() / f"{batch_id}.json", Submitted)


def _read(path: Path, kind: type):
    """The record saved at `path`, or None when there is none (or it is not one)."""
    if not path.is_file():
        return None
    try:
        return kind(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None


def known() -> list[str]:
    return sorted(p.stem for p in folder().glob("*.json")) if folder().is_dir() else []


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
        path = self.home / "manifest.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(vars(self), default=_plain))  # asdict would copy every id first
        os.replace(temporary, path)  # a kernel killed while saving leaves the previous manifest whole
        return path


def load_job(job_id: str) -> Job | None:
    return None if "/" in job_id else _read(folder() / "jobs" / job_id / "manifest.json", Job)


def unfinished_jobs() -> list[str]:
    """Jobs not yet collected, oldest first."""
    jobs = folder() / "jobs"
    found = [load_job(p.name) for p in sorted(jobs.iterdir(), key=lambda p: p.stat().st_mtime)] \
        if jobs.is_dir() else []
    return [job.id for job in found if job is not None and not job.collected]
