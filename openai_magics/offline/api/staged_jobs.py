"""What the offline server's long-running jobs share (fine-tuning jobs, videos): a table of them by id, in creation
order, safe across the server's threads, and a clock of stages a job's state is worked out from whenever it is read
(so nothing runs in the background). Each stage lasts `stage_seconds`: short, so notebooks and tests wait little;
an environment variable or `state.part(Kind).stage_seconds` sets it."""
from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, field
from typing import ClassVar

from openai_magics.offline.errors import known


def stage_seconds_from(variable: str, default: float):
    """A dataclass default factory: the seconds a stage lasts, from `variable` when it is set."""
    return field(default_factory=lambda: float(os.environ.get(variable, default)))


def stages_elapsed(start: float, end: float, stage_seconds: float) -> float:
    """How many stages have passed from `start` to `end` (all of them at once when a stage takes no time)."""
    return (end - start) / stage_seconds if stage_seconds > 0 else math.inf


@dataclass
class StagedJobs:
    """The jobs of one kind, by id. A subclass names what a 404 calls them and declares its `stage_seconds`."""

    kind: ClassVar[str]   # "video", as a 404 names it
    param: ClassVar[str]  # the path parameter a 404 blames
    jobs: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, job_id: str):
        with self.lock:
            return known(self.jobs, job_id, self.kind, self.param)

    def add(self, job):
        with self.lock:
            self.jobs[job.id] = job
        return job

    def by_creation(self, newest_first: bool = True) -> list:
        with self.lock:
            jobs = list(self.jobs.values())
        return sorted(jobs, key=lambda j: j.created, reverse=newest_first)
