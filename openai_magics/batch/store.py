"""Submitted batches on disk, so results can be collected after a kernel restart.

One JSON file per batch under the user's cache folder (`$XDG_CACHE_HOME/openai-magics/batches`, or
`$OPENAI_MAGICS_BATCH_DIR`): its id, endpoint, model, the custom ids in input order, the input's name,
row labels and template. Nothing secret: no key, no prompt beyond the template.
"""
from __future__ import annotations

import json
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
    path = folder() / f"{batch_id}.json"
    if not path.is_file():
        return None
    try:
        return Submitted(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None


def known() -> list[str]:
    return sorted(p.stem for p in folder().glob("*.json")) if folder().is_dir() else []


def _plain(value):
    """numpy and pandas scalars (a DataFrame's index labels) as the Python values they hold."""
    return value.item() if hasattr(value, "item") else str(value)
