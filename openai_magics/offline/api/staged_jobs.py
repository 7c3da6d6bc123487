"""What the offline server's long-running jobs share (fine-tuning jobs, videos): a table of them by id, in creation
order, safe across the server's threads, and a clock of stages a job's state is worked out from whenever it is read
(so nothing runs in the background). Each stage lasts `stage_seconds`: short, so notebooks and tests wait little;
an environment variable or `state.part(Kind).stage_seconds` sets it."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from openai_magics.offline.api.listing import ById


def stage_seconds_from(variable: str, default: float):
    """A dataclass default factory: the seconds a stage lasts, from `variable` when it is set."""
    return field(default_factory=lambda: float(os.environ.get(variable, default)))


def stages_elapsed(start: float, end: float, stage_seconds: float) -> float:
    """How many stages have passed from `start` to `end` (all of them at once when a stage takes no time)."""
    return (end - start) / stage_seconds if stage_seconds > 0 else math.inf


@dataclass
class StagedJobs(ById):
    """The jobs of one kind, by id. A subclass names what a 404 calls them and declares its `stage_seconds`."""

    def get(self, job_id: str):
        with self.lock:
            return super().get(job_id)

    def add(self, job):
        with self.lock:
            self.items[job.id] = job
        return job

    def by_creation(self, newest_first: bool = True) -> list:
        with self.lock:
            jobs = list(self.items.values())
        return sorted(jobs, key=lambda j: j.created, reverse=newest_first)
