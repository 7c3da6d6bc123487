"""The fine-tuning jobs started from this machine, kept on disk beside the response cache.

A small JSON file: endpoint → job id → base model, suffix, when it started, and whether its training cost is
already in a ledger (so a job is charged once, whichever kernel sees it finish). Kept per endpoint: job ids
are only unique on the server that made them.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from openai_magics.core.config import user_folder

_lock = threading.Lock()


DIR_ENV = "OPENAI_MAGICS_FINETUNE_DIR"


def jobs_path() -> Path:
    """Beside the response cache in the user's cache folder, or in `$OPENAI_MAGICS_FINETUNE_DIR`."""
    return user_folder("", DIR_ENV) / "finetune_jobs.json"


class JobStore:
    def __init__(self, endpoint: str, path: Path | None = None):
        self.endpoint, self.path = endpoint, path or jobs_path()

    def _everything(self) -> dict[str, dict]:
        try:
            found = json.loads(self.path.read_text())
        except (OSError, ValueError):  # none yet, or unreadable: start afresh rather than fail the cell
            return {}
        return found if isinstance(found, dict) else {}

    def all(self) -> dict[str, dict]:
        found = self._everything().get(self.endpoint)
        return found if isinstance(found, dict) else {}

    def latest(self) -> str | None:
        jobs = self.all()
        return max(jobs, key=lambda j: jobs[j].get("created", 0)) if jobs else None

    def remember(self, job_id: str, **facts) -> None:
        with _lock:
            everything, jobs = self._everything(), self.all()
            jobs[job_id] = {**jobs.get(job_id, {}), **facts}
            everything[self.endpoint] = jobs
            self.path.parent.mkdir(parents=True, exist_ok=True)
            spare = self.path.with_suffix(".tmp")
            spare.write_text(json.dumps(everything, indent=1, sort_keys=True))
            os.replace(spare, self.path)  # whole or not at all, even if the kernel dies mid-write

    def charged(self, job_id: str) -> bool:
        return bool(self.all().get(job_id, {}).get("charged"))
